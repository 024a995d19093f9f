// comix_dcn/macros.h — portability macros shared by every DCN host (CPU, CUDA, TensorRT, PyTorch).
//
// COMIX_HD      marks a function callable from host and device code (__host__ __device__ under nvcc,
//               nothing for a plain C++ compiler).
// COMIX_INLINE  COMIX_HD + inline: use on every function defined in these headers.
//
// No framework header is included from comix_dcn/: only <cstdint> and, host-only, <string>.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define COMIX_HD __host__ __device__
#else
#define COMIX_HD
#endif

#define COMIX_INLINE COMIX_HD inline

namespace comix {
namespace dcn {

// floor() that works for float and double on host and device without relying on std:: in device code.
COMIX_INLINE float floor_value(float x) {
#if defined(__CUDA_ARCH__)
  return floorf(x);
#else
  return __builtin_floorf(x);
#endif
}

COMIX_INLINE double floor_value(double x) {
#if defined(__CUDA_ARCH__)
  return ::floor(x);
#else
  return __builtin_floor(x);
#endif
}

}  // namespace dcn
}  // namespace comix
