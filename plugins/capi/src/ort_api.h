// ort_api.h — the ONNX Runtime C API as this library uses it: one API table, one environment, and
// our DCN custom ops, all process-wide and created on first use.
//
// API version: we request COMIX_ORT_API_VERSION (plugins/onnxruntime/src/ort_api_version.h), the
// oldest runtime we support (1.28, the newest release with aarch64 wheels), not the version of the
// headers we compile against: a runtime hands out any API version up to its own, so the same source
// runs on ORT 1.28 (aarch64) and 1.32 (x86-64). Only functions of that version or older are called.
#pragma once

#include <onnxruntime_c_api.h>

#include <string>

namespace comix {
namespace capi {

// The API table (throws Error(COMIX_FAILED) when the loaded runtime is older than we need).
const OrtApi& ort();

// The process-wide environment (logging at warning level to stderr, as ORT's default logger does).
OrtEnv* ort_env();

// Adds the ai.comix domain (DeformConv3D, and DeformConv 2-D) to the options: our ops, compiled into
// this library, registered in-process.
void add_custom_ops(OrtSessionOptions* options);

// The runtime's version string ("1.32.0").
const char* ort_version();

// Throws Error for a non-null status (released first): COMIX_BAD_INPUT for the codes that mean the
// caller's model or input was wrong, COMIX_FAILED otherwise. `what` starts the message. On the run
// path pass a literal: the const char* overload builds no string unless there is an error.
void check(OrtStatus* status, const char* what, bool input_codes_are_bad_input = true);
inline void check(OrtStatus* status, const std::string& what, bool input_codes_are_bad_input = true) {
  check(status, what.c_str(), input_codes_are_bad_input);
}

}  // namespace capi
}  // namespace comix
