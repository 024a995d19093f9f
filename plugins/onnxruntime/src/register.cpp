// register.cpp — the library's only exported symbol: ONNX Runtime's RegisterCustomOps entry point.
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "deform_conv_op.h"

namespace {

constexpr const char* kDomain = "ai.comix";  // comix/ops/spec.py CUSTOM_DOMAIN

// Ops and domains must outlive every session that registered them: keep them for the process.
comix::ort::DeformConvOp<3>& deform_conv_3d_op() {
  static comix::ort::DeformConvOp<3> op;
  return op;
}

#if defined(COMIX_ORT_REGISTER_DEFORM_CONV_2D)
comix::ort::DeformConvOp<2>& deform_conv_2d_op() {
  static comix::ort::DeformConvOp<2> op;
  return op;
}
#endif

std::mutex& domains_mutex() {
  static std::mutex m;
  return m;
}

std::vector<Ort::CustomOpDomain>& domains() {
  static std::vector<Ort::CustomOpDomain> d;
  return d;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL
RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* api_base) {
  const OrtApi* api = api_base->GetApi(COMIX_ORT_API_VERSION);  // see ort_api_version.h
  if (api == nullptr) {
    // The runtime is older than the API version we request; report with the oldest API.
    const OrtApi* oldest = api_base->GetApi(1);
    const std::string message = std::string("comix_ort_dcn: ONNX Runtime ") + api_base->GetVersionString() +
                                " does not provide API version " + std::to_string(COMIX_ORT_API_VERSION) +
                                ", expected ONNX Runtime 1." + std::to_string(COMIX_ORT_API_VERSION) +
                                " or newer";
    return oldest ? oldest->CreateStatus(ORT_FAIL, message.c_str()) : nullptr;
  }
  Ort::InitApi(api);
  try {
    Ort::CustomOpDomain domain(kDomain);
    domain.Add(&deform_conv_3d_op());
#if defined(COMIX_ORT_REGISTER_DEFORM_CONV_2D)
    domain.Add(&deform_conv_2d_op());
#endif
    Ort::UnownedSessionOptions session_options(options);
    session_options.Add(domain);
    std::lock_guard<std::mutex> lock(domains_mutex());
    domains().push_back(std::move(domain));
    return nullptr;
  } catch (const Ort::Exception& e) {
    return api->CreateStatus(e.GetOrtErrorCode(), (std::string("comix_ort_dcn: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    return api->CreateStatus(ORT_FAIL, (std::string("comix_ort_dcn: ") + e.what()).c_str());
  } catch (...) {
    return api->CreateStatus(ORT_FAIL, "comix_ort_dcn: unknown exception while registering custom ops");
  }
}
