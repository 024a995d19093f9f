// ort_api_version.h — the ONNX Runtime C API version our code requests from the runtime.
//
// A runtime hands out every API version up to its own, so requesting an older one than the headers
// carry lets one build load into every runtime from that version on. 28 = ONNX Runtime 1.28, the newest
// release with aarch64 wheels (Jetson, satellite computers); the x86-64 wheel here is 1.32. Only API
// functions of version <= 28 may be called (ours use none newer). Custom ops declare the same version
// (OrtCustomOp::version), which a 1.28 runtime checks against its own.
#pragma once

#include <onnxruntime_c_api.h>

#define COMIX_ORT_API_VERSION 28

static_assert(COMIX_ORT_API_VERSION <= ORT_API_VERSION,
              "the ONNX Runtime headers are older than the API version requested (COMIX_ORT_API_VERSION)");
