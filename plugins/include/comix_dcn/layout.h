// comix_dcn/layout.h — tensor shapes and index math of the DCN inputs and outputs (NC + spatial, dense).
//
//   X      (N, C, *S)                                   S  = [H, W] or [D, H, W]
//   W      (O, C/group, *kernel)
//   offset (N, offset_group * K * nd, *oS)              channel = (g*K + k)*nd + axis
//   B      (O)                                          optional
//   mask   (N, offset_group * K, *oS)                   channel = g*K + k       optional
//   Y      (N, O, *oS)
// K = number of kernel points, enumerated row-major over the kernel axes:
//   2-D: k = kh*kernel_w + kw;   3-D: k = (kd*kernel_h + kh)*kernel_w + kw.
// axis is the spatial axis in tensor order (2-D: 0 = h, 1 = w; 3-D: 0 = d, 1 = h, 2 = w).
//
// Element counts can pass 2^31 for large scenes: a host computes the shape once, asks
// needs_64bit_index(), and instantiates its kernels with index_t = int64_t only then (counts within
// kInt32IndexHeadroom of 2^31 already take int64_t, so no index formed past a count can wrap).
#pragma once

#include "comix_dcn/geometry.h"

namespace comix {
namespace dcn {

// Channel of offset component `axis` for offset group g, kernel point k (K kernel points, nd axes).
template <typename index_t>
COMIX_INLINE index_t offset_channel(index_t g, index_t kernel_points, index_t k, index_t nd, index_t axis) {
  return (g * kernel_points + k) * nd + axis;
}

// Channel of the mask for offset group g, kernel point k.
template <typename index_t>
COMIX_INLINE index_t mask_channel(index_t g, index_t kernel_points, index_t k) {
  return g * kernel_points + k;
}

// Kernel point index -> per-axis kernel position (row-major).
template <typename index_t>
COMIX_INLINE void kernel_point_2d(index_t k, index_t kernel_w, index_t& kh, index_t& kw) {
  kh = k / kernel_w;
  kw = k - kh * kernel_w;
}

template <typename index_t>
COMIX_INLINE void kernel_point_3d(index_t k, index_t kernel_h, index_t kernel_w, index_t& kd, index_t& kh,
                                  index_t& kw) {
  const index_t plane = kernel_h * kernel_w;
  kd = k / plane;
  const index_t rest = k - kd * plane;
  kh = rest / kernel_w;
  kw = rest - kh * kernel_w;
}

// Unpadded sampling coordinate along one axis before the learned offset is added:
//   out_pos*stride - pad_begin + kernel_pos*dilation.
template <typename acc_t, typename index_t>
COMIX_INLINE acc_t base_coordinate(index_t out_pos, int64_t stride, int64_t pad_begin, index_t kernel_pos,
                                   int64_t dilation) {
  return static_cast<acc_t>(static_cast<int64_t>(out_pos) * stride - pad_begin +
                            static_cast<int64_t>(kernel_pos) * dilation);
}

// All sizes of one call, filled by validate.h (check_shapes_2d / check_shapes_3d) from the tensors.
struct DeformConv2DShape {
  int64_t batch = 0, channels = 0, height = 0, width = 0;
  int64_t out_channels = 0, out_height = 0, out_width = 0;
  bool has_bias = false, has_mask = false;

  COMIX_INLINE int64_t in_plane() const { return height * width; }
  COMIX_INLINE int64_t out_plane() const { return out_height * out_width; }
};

struct DeformConv3DShape {
  int64_t batch = 0, channels = 0, depth = 0, height = 0, width = 0;
  int64_t out_channels = 0, out_depth = 0, out_height = 0, out_width = 0;
  bool has_bias = false, has_mask = false;

  COMIX_INLINE int64_t in_plane() const { return depth * height * width; }
  COMIX_INLINE int64_t out_plane() const { return out_depth * out_height * out_width; }
};

// Largest element count any tensor (or the im2col column buffer of `column_samples` batch items) of the
// call has.
template <typename Shape, typename Geometry>
COMIX_INLINE int64_t largest_element_count(const Shape& s, const Geometry& g, int64_t column_samples = 1) {
  const int64_t K = g.kernel_points();
  const int64_t nd = Geometry::kSpatialDims;
  int64_t counts[5] = {
      s.batch * s.channels * s.in_plane(),                // X
      s.batch * g.offset_group * K * nd * s.out_plane(),  // offset
      s.batch * s.out_channels * s.out_plane(),           // Y
      column_samples * s.channels * K * s.out_plane(),    // columns of column_samples batch items
      s.out_channels * (s.channels / (g.group > 0 ? g.group : 1)) * K,  // W
  };
  int64_t largest = 0;
  for (int64_t c : counts) largest = c > largest ? c : largest;
  return largest;
}

// 32-bit index headroom: a kernel may form an index up to this far past a count it is bounded by (a GEMM
// tile that starts below the count spans a whole tile; tiled_gemm.cuh static_asserts its tiles fit).
// Grid-stride loop counters are 64-bit in every kernel, so they never wrap whatever index_t is.
constexpr int64_t kInt32IndexHeadroom = int64_t{1} << 16;
// Largest element count that 32-bit indices serve: 2^31 - 1 - headroom.
constexpr int64_t kInt32IndexMaxCount = int64_t{0x7fffffff} - kInt32IndexHeadroom;

// True when an element count is too large for 32-bit signed indices (with the headroom above).
COMIX_INLINE bool count_needs_64bit_index(int64_t count) { return count > kInt32IndexMaxCount; }

// True when 32-bit signed indices could overflow for this call, with the im2col column buffer holding
// `column_samples` batch items at a time: instantiate kernels with index_t = int64_t then.
template <typename Shape, typename Geometry>
COMIX_INLINE bool needs_64bit_index(const Shape& s, const Geometry& g, int64_t column_samples = 1) {
  return count_needs_64bit_index(largest_element_count(s, g, column_samples));
}

}  // namespace dcn
}  // namespace comix
