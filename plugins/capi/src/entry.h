// entry.h — what every exported function shares: the catch-all around its body, the thread-local last
// error and the NULL-argument check. Nothing thrown below an entry point crosses it.
#pragma once

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "comix_infer.h"
#include "errors.h"

namespace comix {
namespace capi {

// This thread's message for its last failed call (comix_last_error). A fixed buffer, not a std::string:
// recording an error never allocates, and the thread's storage has no destructor to run at thread exit.
inline thread_local char t_last_error[1024] = "";

inline void set_error(const char* a, const char* b = "") noexcept {
  std::snprintf(t_last_error, sizeof(t_last_error), "%s%s", a, b);
}

// Runs body; returns its status, recording the message of any failure. Catches everything.
template <typename Body>
int guarded(const char* function, Body body) noexcept {
  try {
    body();
    return COMIX_OK;
  } catch (const Error& error) {
    set_error(error.what());
    return error.code();
  } catch (const std::bad_alloc&) {
    set_error(function, ": out of memory");
  } catch (const std::exception& error) {
    set_error(function, ": internal error: ");
    const std::size_t used = std::strlen(t_last_error);
    std::snprintf(t_last_error + used, sizeof(t_last_error) - used, "%s", error.what());
  } catch (...) {
    set_error(function, ": internal error (unknown exception)");
  }
  return COMIX_FAILED;
}

inline void require(const void* pointer, const char* function, const char* argument, const char* expected) {
  if (pointer == nullptr) {
    bad_input(std::string(function) + ": got NULL " + argument + ", expected " + expected);
  }
}

}  // namespace capi
}  // namespace comix
