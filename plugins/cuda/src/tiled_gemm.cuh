// tiled_gemm.cuh — grouped GEMM with shared-memory tiles and FP32 accumulation (no cuBLAS).
//
// For every (chunk item n_local, group grp) — blockIdx.z walks them — computes
//   Y[n, grp*Og + m, p] = bias[grp*Og + m] + sum_r W[grp*Og + m, r] * columns[n_local][grp*R + r, p]
// with R = C/group * K (rows of one group's columns), Og = O/group, P = output positions.
// W and Y are in storage type scalar_t (float or __half), columns are FP32, the sum is FP32.
// Tile: 64 (rows of Y) x 64 (positions) per block of 256 threads, 4x4 outputs per thread, depth 16.
#pragma once

#include "comix_dcn/layout.h"
#include "storage_convert.cuh"

namespace comix {
namespace dcn {
namespace cuda {

constexpr int kGemmTileM = 64;
constexpr int kGemmTileN = 64;
constexpr int kGemmTileK = 16;
constexpr int kGemmThreads = 256;  // 16 x 16 threads, each 4 x 4 outputs
// A tile starting below a count indexes up to one tile past it; 32-bit indexing leaves that much headroom.
static_assert(kGemmTileM <= kInt32IndexHeadroom && kGemmTileN <= kInt32IndexHeadroom &&
                  kGemmTileK <= kInt32IndexHeadroom,
              "GEMM tiles must fit the 32-bit index headroom of comix_dcn/layout.h");

template <typename index_t>
struct GemmSizes {
  index_t chunk, first_sample, group;
  index_t out_per_group;  // Og
  index_t depth;          // R = C/group * K
  index_t positions;      // P
  index_t out_channels;   // O
};

template <typename scalar_t, typename index_t>
__global__ void __launch_bounds__(kGemmThreads)
    grouped_gemm_kernel(GemmSizes<index_t> s, const scalar_t* __restrict__ weight,
                        const float* __restrict__ columns, const scalar_t* __restrict__ bias,
                        scalar_t* __restrict__ output) {
  // A tile stored transposed (depth-major) so the inner product reads consecutive rows; +4 pad against
  // bank conflicts on the transposed store.
  __shared__ float a_tile[kGemmTileK][kGemmTileM + 4];
  __shared__ float b_tile[kGemmTileK][kGemmTileN];

  const int tx = threadIdx.x % 16;  // position direction
  const int ty = threadIdx.x / 16;  // row direction
  const index_t row0 = static_cast<index_t>(blockIdx.y) * kGemmTileM;
  const index_t col0 = static_cast<index_t>(blockIdx.x) * kGemmTileN;
  const index_t batches = s.chunk * s.group;

  for (index_t z = blockIdx.z; z < batches; z += gridDim.z) {
    const index_t n_local = z / s.group;
    const index_t grp = z - n_local * s.group;
    const scalar_t* a = weight + grp * s.out_per_group * s.depth;
    const float* b = columns + (n_local * s.group + grp) * s.depth * s.positions;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;
    }

    for (index_t r0 = 0; r0 < s.depth; r0 += kGemmTileK) {
      // A: 64 rows x 16 depth = 1024 values, 4 per thread.
#pragma unroll
      for (int l = 0; l < 4; ++l) {
        const int e = threadIdx.x + l * kGemmThreads;
        const int m = e / kGemmTileK, r = e % kGemmTileK;
        const index_t gm = row0 + m, gr = r0 + r;
        a_tile[r][m] = (gm < s.out_per_group && gr < s.depth)
                           ? load_as_float(a, static_cast<long long>(gm * s.depth + gr))
                           : 0.0f;
      }
      // B: 16 depth x 64 positions = 1024 values, 4 per thread, coalesced along positions.
#pragma unroll
      for (int l = 0; l < 4; ++l) {
        const int e = threadIdx.x + l * kGemmThreads;
        const int r = e / kGemmTileN, c = e % kGemmTileN;
        const index_t gr = r0 + r, gc = col0 + c;
        b_tile[r][c] = (gr < s.depth && gc < s.positions) ? b[gr * s.positions + gc] : 0.0f;
      }
      __syncthreads();
#pragma unroll
      for (int r = 0; r < kGemmTileK; ++r) {
        float av[4], bv[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) av[i] = a_tile[r][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < 4; ++j) bv[j] = b_tile[r][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
#pragma unroll
          for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
      }
      __syncthreads();
    }

    const index_t n = s.first_sample + n_local;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const index_t gm = row0 + ty + 16 * i;
      if (gm >= s.out_per_group) continue;
      const index_t channel = grp * s.out_per_group + gm;
      const float b_value = bias == nullptr ? 0.0f : load_as_float(bias, static_cast<long long>(channel));
      scalar_t* y = output + (n * s.out_channels + channel) * s.positions;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const index_t gc = col0 + tx + 16 * j;
        if (gc < s.positions) y[gc] = store_from_float<scalar_t>(acc[i][j] + b_value);
      }
    }
  }
}

}  // namespace cuda
}  // namespace dcn
}  // namespace comix
