// ort_backend.h — a .onnx model run by ONNX Runtime on the CPU, our DCN ops registered in-process.
#pragma once

#include <memory>
#include <string>

#include "model.h"

namespace comix {
namespace capi {

// Opens `path` (checked, and verified when options.verify), reads the sizes and the record into facts.
// Throws Error.
std::unique_ptr<Backend> open_onnx(const std::string& path, const OpenOptions& options, ModelFacts& facts);

}  // namespace capi
}  // namespace comix
