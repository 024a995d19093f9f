// storage_convert.cuh — conversions between storage types (float, __half) and the FP32 accumulator.
#pragma once

#include <cuda_fp16.h>

namespace comix {
namespace dcn {
namespace cuda {

template <typename scalar_t>
__device__ __forceinline__ float load_as_float(const scalar_t* data, long long index) {
  return static_cast<float>(data[index]);
}

template <>
__device__ __forceinline__ float load_as_float<__half>(const __half* data, long long index) {
  return __half2float(data[index]);
}

template <typename scalar_t>
__device__ __forceinline__ scalar_t store_from_float(float value);

template <>
__device__ __forceinline__ float store_from_float<float>(float value) {
  return value;
}

template <>
__device__ __forceinline__ __half store_from_float<__half>(float value) {
  return __float2half_rn(value);
}

}  // namespace cuda
}  // namespace dcn
}  // namespace comix
