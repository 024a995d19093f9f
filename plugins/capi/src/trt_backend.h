// trt_backend.h — a TensorRT engine (comix build) run on a GPU, our plugins registered in-process.
//
// Built only with COMIX_BUILD_TENSORRT (a TensorRT root); here it is compile-checked against the
// TensorRT 10.3, 10.13 and 11.1 headers (plugins/capi/check_tensorrt.sh) and has never run: this
// machine has no GPU and no TensorRT runtime (docs/flight.md, "what was verified where").
#pragma once

#include <memory>
#include <string>

#include "model.h"

namespace comix {
namespace capi {

// Opens `path` (a serialized engine) with its record `<path>.json` (comix/tensorrt/engine_record.py):
// sizes from the engine's I/O tensors, task / name / class names from the record's model part, and with
// options.verify the engine's SHA-256 against the record's engine.engine_sha256. Throws Error.
std::unique_ptr<Backend> open_engine(const std::string& path, const OpenOptions& options, ModelFacts& facts);

// "TensorRT <runtime version> (headers <version>)" for comix_version_string.
std::string trt_description();

}  // namespace capi
}  // namespace comix
