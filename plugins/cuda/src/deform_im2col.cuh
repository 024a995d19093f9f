// deform_im2col.cuh — deformable im2col: sampled, modulated input values into an FP32 column buffer.
//
// One thread per (sample in chunk, offset group g, kernel point k, output position p). It reads the nd
// offsets and the mask at (g, k, p) once, computes the interpolation corners once with the shared
// sampling header (comix_dcn/sampling.h, mask folded into the weights), then walks the C/offset_group
// channels of its offset group and writes one column value per channel. Writes are coalesced along p.
// Only corners inside the input are loaded (SampleCorners::inside): an outside corner contributes exactly
// 0 and never reads memory, so an Inf/NaN at pixel 0 cannot turn border samples into NaN (0 * NaN).
// The grid-stride loop counts in 64 bits whatever index_t is: i + stride may pass 2^31 even when every
// i < total fits int32_t.
//
// Column layout per sample: columns[(c*K + k) * P + p], c = input channel, so the rows of group
// `grp` (channels grp*C/group ...) form one contiguous (C/group * K) x P matrix for the GEMM.
#pragma once

#include "comix_dcn/comix_dcn.h"
#include "storage_convert.cuh"

namespace comix {
namespace dcn {
namespace cuda {

// Sizes of one im2col launch, in index_t. `first_sample` is the batch index of chunk item 0.
template <typename index_t>
struct Im2colSizes {
  index_t chunk, first_sample;
  index_t channels, offset_group, kernel_points;
  index_t in_d, in_h, in_w;     // in_d = 1 in 2-D
  index_t out_d, out_h, out_w;  // out_d = 1 in 2-D
};

// Channel loop shared by 2-D and 3-D: one column value per channel of offset group g.
template <typename scalar_t, typename index_t, int kCorners>
__device__ __forceinline__ void write_columns(const scalar_t* input, float* columns,
                                              const Im2colSizes<index_t>& s, index_t n, index_t n_local,
                                              index_t g, index_t k, index_t p,
                                              const SampleCorners<float, index_t, kCorners>& corners) {
  const index_t in_plane = s.in_d * s.in_h * s.in_w;
  const index_t out_plane = s.out_d * s.out_h * s.out_w;
  const index_t channels_per_group = s.channels / s.offset_group;
  const index_t first_channel = g * channels_per_group;
  const scalar_t* plane = input + (n * s.channels + first_channel) * in_plane;
  float* column = columns + ((n_local * s.channels + first_channel) * s.kernel_points + k) * out_plane + p;
  const index_t column_step = s.kernel_points * out_plane;
  for (index_t c = 0; c < channels_per_group; ++c) {
    float value = 0.0f;
#pragma unroll
    for (int i = 0; i < kCorners; ++i) {
      if (corners.is_inside(i)) {
        value += corners.weight[i] * load_as_float(plane, static_cast<long long>(corners.index[i]));
      }
    }
    *column = value;
    plane += in_plane;
    column += column_step;
  }
}

// Reads the modulation scalar (1 without a mask).
template <typename scalar_t, typename index_t>
__device__ __forceinline__ float mask_value(const scalar_t* mask, const Im2colSizes<index_t>& s, index_t n,
                                            index_t g, index_t k, index_t p) {
  if (mask == nullptr) return 1.0f;
  const index_t out_plane = s.out_d * s.out_h * s.out_w;
  const index_t channel = mask_channel<index_t>(g, s.kernel_points, k);
  return load_as_float(
      mask, static_cast<long long>((n * s.offset_group * s.kernel_points + channel) * out_plane + p));
}

// One thread's work item: output position p, kernel point k, offset group g, chunk item n_local, sample n.
template <typename index_t>
struct WorkItem {
  index_t p, k, g, n_local, n;
};

// First index and stride of a grid-stride loop over a 1-D grid, in 64 bits (never wraps).
__device__ __forceinline__ long long grid_first_index() {
  return static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ long long grid_stride() { return static_cast<long long>(gridDim.x) * blockDim.x; }

// Splits the flat thread index i (p fastest, then k, g, chunk item) into a WorkItem.
template <typename index_t>
__device__ __forceinline__ WorkItem<index_t> work_item(index_t i, index_t out_plane,
                                                       const Im2colSizes<index_t>& s) {
  WorkItem<index_t> item;
  item.p = i % out_plane;
  index_t rest = i / out_plane;
  item.k = rest % s.kernel_points;
  rest /= s.kernel_points;
  item.g = rest % s.offset_group;
  item.n_local = rest / s.offset_group;
  item.n = s.first_sample + item.n_local;
  return item;
}

// The offset along `axis` (of nd) at (sample n, offset group g, kernel point k, output position p).
template <typename scalar_t, typename index_t>
__device__ __forceinline__ float offset_value(const scalar_t* offset, const Im2colSizes<index_t>& s,
                                              const WorkItem<index_t>& w, index_t out_plane, int nd,
                                              int axis) {
  const index_t base = w.n * s.offset_group * s.kernel_points * nd;
  return load_as_float(
      offset, static_cast<long long>(
                  (base + offset_channel<index_t>(w.g, s.kernel_points, w.k, nd, axis)) * out_plane + w.p));
}

template <typename scalar_t, typename index_t>
__global__ void deform_im2col_2d_kernel(DeformConv2DGeometry geometry, Im2colSizes<index_t> s,
                                        const scalar_t* __restrict__ input,
                                        const scalar_t* __restrict__ offset,
                                        const scalar_t* __restrict__ mask, float* __restrict__ columns) {
  const index_t out_plane = s.out_h * s.out_w;
  const long long total = static_cast<long long>(s.chunk * s.offset_group * s.kernel_points) * out_plane;
  for (long long i = grid_first_index(); i < total; i += grid_stride()) {
    const WorkItem<index_t> item = work_item(static_cast<index_t>(i), out_plane, s);
    const index_t p = item.p, k = item.k, g = item.g, n = item.n;
    const index_t oh = p / s.out_w, ow = p - (p / s.out_w) * s.out_w;
    index_t kh, kw;
    kernel_point_2d<index_t>(k, static_cast<index_t>(geometry.kernel_w), kh, kw);

    const float dh = offset_value(offset, s, item, out_plane, 2, 0);
    const float dw = offset_value(offset, s, item, out_plane, 2, 1);
    const float h = base_coordinate<float, index_t>(oh, geometry.stride_h, geometry.pad_h_begin, kh,
                                                    geometry.dilation_h) +
                    dh;
    const float w = base_coordinate<float, index_t>(ow, geometry.stride_w, geometry.pad_w_begin, kw,
                                                    geometry.dilation_w) +
                    dw;
    BilinearCorners<float, index_t> corners;
    bilinear_corners<float, index_t>(h, w, s.in_h, s.in_w, mask_value(mask, s, n, g, k, p), corners);
    write_columns<scalar_t, index_t, 4>(input, columns, s, n, item.n_local, g, k, p, corners);
  }
}

template <typename scalar_t, typename index_t>
__global__ void deform_im2col_3d_kernel(DeformConv3DGeometry geometry, Im2colSizes<index_t> s,
                                        const scalar_t* __restrict__ input,
                                        const scalar_t* __restrict__ offset,
                                        const scalar_t* __restrict__ mask, float* __restrict__ columns) {
  const index_t out_hw = s.out_h * s.out_w;
  const index_t out_plane = s.out_d * out_hw;
  const long long total = static_cast<long long>(s.chunk * s.offset_group * s.kernel_points) * out_plane;
  for (long long i = grid_first_index(); i < total; i += grid_stride()) {
    const WorkItem<index_t> item = work_item(static_cast<index_t>(i), out_plane, s);
    const index_t p = item.p, k = item.k, g = item.g, n = item.n;
    const index_t od = p / out_hw;
    const index_t oh = (p - od * out_hw) / s.out_w;
    const index_t ow = p - od * out_hw - oh * s.out_w;
    index_t kd, kh, kw;
    kernel_point_3d<index_t>(k, static_cast<index_t>(geometry.kernel_h),
                             static_cast<index_t>(geometry.kernel_w), kd, kh, kw);

    const float dd = offset_value(offset, s, item, out_plane, 3, 0);
    const float dh = offset_value(offset, s, item, out_plane, 3, 1);
    const float dw = offset_value(offset, s, item, out_plane, 3, 2);
    const float d = base_coordinate<float, index_t>(od, geometry.stride_d, geometry.pad_d_begin, kd,
                                                    geometry.dilation_d) +
                    dd;
    const float h = base_coordinate<float, index_t>(oh, geometry.stride_h, geometry.pad_h_begin, kh,
                                                    geometry.dilation_h) +
                    dh;
    const float w = base_coordinate<float, index_t>(ow, geometry.stride_w, geometry.pad_w_begin, kw,
                                                    geometry.dilation_w) +
                    dw;
    TrilinearCorners<float, index_t> corners;
    trilinear_corners<float, index_t>(d, h, w, s.in_d, s.in_h, s.in_w, mask_value(mask, s, n, g, k, p),
                                      corners);
    write_columns<scalar_t, index_t, 8>(input, columns, s, n, item.n_local, g, k, p, corners);
  }
}

}  // namespace cuda
}  // namespace dcn
}  // namespace comix
