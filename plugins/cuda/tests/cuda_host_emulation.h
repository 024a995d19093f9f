// tests/cuda_host_emulation.h — runs the CUDA kernel source on the host, for machines without a GPU.
//
// Test-only. Defines the few CUDA built-ins the kernels use (execution-space keywords, threadIdx /
// blockIdx / blockDim / gridDim, __shared__, __syncthreads) so that g++ compiles the unchanged
// kernel headers; emulate_kernels.cpp then runs every block, one host thread per CUDA thread with a
// std::barrier for __syncthreads. It checks indexing and arithmetic, not performance, memory-model
// or warp behaviour: it is no substitute for the GPU tests.
#pragma once

#if defined(__CUDACC__)
#error "cuda_host_emulation.h is for host compilers only"
#endif

#include <barrier>
#include <cmath>
#include <cstdint>

// CUDA headers first (they define the execution-space macros for host compilers), then our overrides.
#include <cuda_fp16.h>     // __half with host conversions
#include <vector_types.h>  // dim3, uint3 (plain structs)

#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __launch_bounds__
#undef __shared__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(threads)
#define __shared__ static  // one block runs at a time, so function statics act as the block's shared memory

namespace comix_emulation {
inline thread_local uint3 tl_thread_idx{0, 0, 0};
inline thread_local uint3 tl_block_idx{0, 0, 0};
inline dim3 g_block_dim{1, 1, 1};
inline dim3 g_grid_dim{1, 1, 1};
inline std::barrier<>* g_block_barrier = nullptr;
}  // namespace comix_emulation

#define threadIdx (::comix_emulation::tl_thread_idx)
#define blockIdx (::comix_emulation::tl_block_idx)
#define blockDim (::comix_emulation::g_block_dim)
#define gridDim (::comix_emulation::g_grid_dim)

inline void __syncthreads() {
  if (comix_emulation::g_block_barrier != nullptr) comix_emulation::g_block_barrier->arrive_and_wait();
}
