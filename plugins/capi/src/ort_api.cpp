// ort_api.cpp — API table, environment and status handling (see ort_api.h).
#include "ort_api.h"

#include "errors.h"
#include "ort_api_version.h"

namespace comix {
namespace capi {

const OrtApi& ort() {
  static const OrtApi* api = OrtGetApiBase()->GetApi(COMIX_ORT_API_VERSION);
  if (api == nullptr) {
    failed(std::string("onnxruntime ") + OrtGetApiBase()->GetVersionString() +
           " does not provide C API version " + std::to_string(COMIX_ORT_API_VERSION) +
           ", expected onnxruntime 1." + std::to_string(COMIX_ORT_API_VERSION) + " or newer");
  }
  return *api;
}

const char* ort_version() { return OrtGetApiBase()->GetVersionString(); }

OrtEnv* ort_env() {
  // Never released: ORT's own global state is torn down at exit, and releasing the environment from a
  // static destructor races with it.
  static OrtEnv* env = [] {
    OrtEnv* made = nullptr;
    check(ort().CreateEnv(ORT_LOGGING_LEVEL_WARNING, "comix_infer", &made),
          "creating the ONNX Runtime environment", false);
    return made;
  }();
  return env;
}

void check(OrtStatus* status, const char* what, bool input_codes_are_bad_input) {
  if (status == nullptr) return;
  const OrtApi& api = ort();
  const OrtErrorCode code = api.GetErrorCode(status);
  std::string message = api.GetErrorMessage(status);
  api.ReleaseStatus(status);
  // ORT's messages may span lines; the C API's message is one sentence.
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  const bool input = code == ORT_INVALID_ARGUMENT || code == ORT_NO_SUCHFILE || code == ORT_NO_MODEL ||
                     code == ORT_INVALID_PROTOBUF || code == ORT_INVALID_GRAPH || code == ORT_NOT_IMPLEMENTED;
  throw Error(input && input_codes_are_bad_input ? COMIX_BAD_INPUT : COMIX_FAILED,
              std::string(what) + ": ONNX Runtime says: " + message);
}

}  // namespace capi
}  // namespace comix
