// errors.h — how failures travel inside the library: an exception carrying the C status and the
// sentence, thrown anywhere below the API and caught at every entry point (api.cpp), never further.
#pragma once

#include <stdexcept>
#include <string>

#include "comix_infer.h"

namespace comix {
namespace capi {

class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

// The caller's input was wrong (COMIX_BAD_INPUT): a path, a size, a model file, an option.
[[noreturn]] inline void bad_input(const std::string& message) { throw Error(COMIX_BAD_INPUT, message); }

// Could not finish, not the caller's fault (COMIX_FAILED): the runtime, memory, the device.
[[noreturn]] inline void failed(const std::string& message) { throw Error(COMIX_FAILED, message); }

}  // namespace capi
}  // namespace comix
