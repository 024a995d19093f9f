// custom_ops.cpp — our ONNX Runtime DCN ops (plugins/onnxruntime), registered in-process.
//
// The op code uses ORT's C++ wrapper with ORT_API_MANUAL_INIT (deform_conv_op.h), so the wrapper's API
// pointer is set here, once, from the same API table the rest of the library uses.
#include <mutex>

#include "deform_conv_op.h"
#include "errors.h"
#include "ort_api.h"
#include "ort_api_version.h"

namespace comix {
namespace capi {
namespace {

constexpr const char* kDomain = "ai.comix";  // comix/ops/spec.py CUSTOM_DOMAIN

struct Domain {
  comix::ort::DeformConvOp<3> deform_conv_3d;
  comix::ort::DeformConvOp<2> deform_conv_2d;
  OrtCustomOpDomain* domain = nullptr;
  std::string error;
};

// Ops and domain live for the process: sessions keep pointers to them.
Domain& domain() {
  static Domain* d = [] {
    auto* made = new Domain();
    const OrtApi& api = ort();
    Ort::InitApi(&api);
    OrtStatus* status = api.CreateCustomOpDomain(kDomain, &made->domain);
    if (status == nullptr) status = api.CustomOpDomain_Add(made->domain, &made->deform_conv_3d);
    if (status == nullptr) status = api.CustomOpDomain_Add(made->domain, &made->deform_conv_2d);
    if (status != nullptr) {
      made->error = api.GetErrorMessage(status);
      api.ReleaseStatus(status);
    }
    return made;
  }();
  return *d;
}

}  // namespace

void add_custom_ops(OrtSessionOptions* options) {
  Domain& d = domain();
  if (!d.error.empty()) failed("registering the ai.comix ops with ONNX Runtime failed: " + d.error);
  check(ort().AddCustomOpDomain(options, d.domain), "registering the ai.comix ops with ONNX Runtime", false);
}

}  // namespace capi
}  // namespace comix
