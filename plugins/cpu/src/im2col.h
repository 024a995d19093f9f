// im2col.h — deformable im2col of one block of output positions into the column buffer (channels-last x).
//
// For every offset group, kernel point and block of positions, the 2^nd corner indices and weights (mask
// folded in) are computed once (from comix_dcn/sampling.h's axis_corners, vectorised over positions: see
// "three steps" below), and blended over every channel of the offset group with a contiguous
// (vectorised) loop over channels. Corners outside the input have weight 0 and index 0;
// when the input holds Inf/NaN (kGuardNonFinite, decided per batch item by the driver) outside corners
// are sent to the zero pixel appended to x_cl (index in_plane) instead, so 0 * Inf never leaks a NaN
// into a sample whose corner is outside (the rule of comix_dcn/sampling.h; inside corners are read
// even with weight 0, as the float64 reference does). The guard costs ~25% of this step, hence optional.
// index_t is the spatial index type: int32_t when in_plane + 1 fits, int64_t otherwise (chosen at run
// time by the driver).
#pragma once

#include <cstdint>
#include <vector>

#include "column_plan.h"
#include "comix_dcn/geometry.h"
#include "comix_dcn/layout.h"
#include "comix_dcn/sampling.h"

namespace comix {
namespace dcn {
namespace cpu {

// Per-axis corners of one kernel point for a block of positions, structure of arrays.
struct AxisTable {
  std::vector<int64_t> low, high;  // sized for int64_t; int32_t indices use the first half
  std::vector<float> w_low, w_high;
  std::vector<uint8_t> low_in, high_in;  // whether each corner is inside the input (for the non-finite guard)
};

// Per-thread scratch of the column fill.
struct FillScratch {
  std::vector<float> base;  // nd * block: p*stride - pad_begin per axis
  std::vector<float> tap;   // nd * K: kernel position * dilation per axis (no divisions in the hot loop)
  std::vector<float> ones;  // block: the mask when there is none
  AxisTable axis[3];
  std::vector<int64_t> corner_index;  // block * 2^nd, [position][corner]
  std::vector<float> corner_weight;
};

// The corners of one kernel point for a block of positions are computed in three steps, each a loop
// over positions without branches or cross-iteration dependencies, so that GCC vectorises them (8
// positions per AVX2 instruction; measured 2-3x faster than corners per position):
//   1. per axis, comix_dcn/sampling.h axis_corners (built with -fno-trapping-math so floor vectorises);
//   2. the 2^nd corner indices and weights (mask folded in) as [position][corner], in the corner order of
//      sampling.h's bilinear_corners / trilinear_corners (bit a of the corner number = high on axis a,
//      axis 0 most significant) — the per-position functions are not if-converted by GCC 12 in a loop;
//   3. the blend over channels, per position.
template <typename index_t>
struct AxisView {
  index_t* low;
  index_t* high;
  float* w_low;
  float* w_high;
  uint8_t* low_in;
  uint8_t* high_in;
};

template <typename index_t>
AxisView<index_t> axis_view(AxisTable& table, int64_t count) {
  table.low.resize(static_cast<size_t>(count));
  table.high.resize(static_cast<size_t>(count));
  table.w_low.resize(static_cast<size_t>(count));
  table.w_high.resize(static_cast<size_t>(count));
  table.low_in.resize(static_cast<size_t>(count));
  table.high_in.resize(static_cast<size_t>(count));
  return {reinterpret_cast<index_t*>(table.low.data()),
          reinterpret_cast<index_t*>(table.high.data()),
          table.w_low.data(),
          table.w_high.data(),
          table.low_in.data(),
          table.high_in.data()};
}

// Step 1 for one axis: coordinate = base + tap + offset, then axis_corners.
template <typename index_t>
void fill_axis(const float* __restrict base, float tap, const float* __restrict offset, index_t size,
               int64_t count, const AxisView<index_t>& out) {
  index_t* __restrict low = out.low;
  index_t* __restrict high = out.high;
  float* __restrict w_low = out.w_low;
  float* __restrict w_high = out.w_high;
  uint8_t* __restrict low_in = out.low_in;
  uint8_t* __restrict high_in = out.high_in;
  for (int64_t pi = 0; pi < count; ++pi) {
    const AxisCorners<float, index_t> a = axis_corners<float, index_t>(base[pi] + tap + offset[pi], size);
    low[pi] = a.low;
    high[pi] = a.high;
    w_low[pi] = a.w_low;
    w_high[pi] = a.w_high;
    low_in[pi] = static_cast<uint8_t>(a.low_in);
    high_in[pi] = static_cast<uint8_t>(a.high_in);
  }
}

// The mask row of one kernel point, or ones when the op has no mask.
inline const float* mask_row(const float* mask_og, int64_t k, int64_t P, FillScratch& scratch,
                             int64_t count) {
  if (mask_og != nullptr) return mask_og + k * P;
  if (static_cast<int64_t>(scratch.ones.size()) < count)
    scratch.ones.assign(static_cast<size_t>(count), 1.0f);
  return scratch.ones.data();
}

// dst[j] = sum_i weight[i] * x_cl[index[i] * C + j] for j in [0, len); x_cl already offset to the segment.
template <int kCorners, typename index_t>
inline void blend_channels(const float* x_cl, int64_t channels,
                           const SampleCorners<float, index_t, kCorners>& c, float* __restrict dst,
                           int64_t len) {
  const float* src[kCorners];
  float w[kCorners];
  for (int i = 0; i < kCorners; ++i) {
    src[i] = x_cl + static_cast<int64_t>(c.index[i]) * channels;
    w[i] = c.weight[i];
  }
  // A balanced sum (depth 3 for 8 corners, 2 for 4): a single running accumulator made every sample wait
  // for a chain of 2^nd dependent FMAs, which with few channels per offset group (8 in comix_t's first
  // 3-D stage: one AVX2 register) was the kernel's bottleneck (perf).
  static_assert(kCorners == 4 || kCorners == 8, "bilinear or trilinear corners");
  if constexpr (kCorners == 8) {
    for (int64_t j = 0; j < len; ++j) {
      dst[j] = ((w[0] * src[0][j] + w[1] * src[1][j]) + (w[2] * src[2][j] + w[3] * src[3][j])) +
               ((w[4] * src[4][j] + w[5] * src[5][j]) + (w[6] * src[6][j] + w[7] * src[7][j]));
    }
  } else {
    for (int64_t j = 0; j < len; ++j) {
      dst[j] = (w[0] * src[0][j] + w[1] * src[1][j]) + (w[2] * src[2][j] + w[3] * src[3][j]);
    }
  }
}

// Writes one (position, kernel point) sample of every channel of the offset group's segments.
template <int kCorners, typename index_t>
inline void write_sample(const ColumnPlan& plan, const std::vector<ChannelSegment>& segments,
                         const float* x_cl, const SampleCorners<float, index_t, kCorners>& c, int64_t k,
                         float* col_row) {
  for (const ChannelSegment& s : segments) {
    float* dst = col_row + s.group * plan.group_row + k * plan.channels_per_group +
                 (s.begin - s.group * plan.channels_per_group);
    blend_channels<kCorners, index_t>(x_cl + s.begin, plan.channels, c, dst, s.end - s.begin);
  }
}

// Step 3: the samples of one kernel point for a block of positions from its [position][corner] table.
template <int kCorners, typename index_t>
inline void write_block(const ColumnPlan& plan, const std::vector<ChannelSegment>& segments,
                        const float* x_cl, const index_t* index, const float* weight, int64_t k,
                        int64_t count, float* col) {
  for (int64_t pi = 0; pi < count; ++pi) {
    SampleCorners<float, index_t, kCorners> c;
    for (int i = 0; i < kCorners; ++i) {
      c.index[i] = index[pi * kCorners + i];
      c.weight[i] = weight[pi * kCorners + i];
    }
    write_sample<kCorners, index_t>(plan, segments, x_cl, c, k, col + pi * plan.row);
  }
}

template <typename index_t>
struct CornerView {
  index_t* index;
  float* weight;
};

template <int kCorners, typename index_t>
CornerView<index_t> corner_view(FillScratch& scratch, int64_t count) {
  scratch.corner_index.resize(static_cast<size_t>(kCorners * count));
  scratch.corner_weight.resize(static_cast<size_t>(kCorners * count));
  return {reinterpret_cast<index_t*>(scratch.corner_index.data()), scratch.corner_weight.data()};
}

// Step 2, 2-D: [position][corner] indices and weights in bilinear_corners' order ((h, w) bits).
template <typename index_t>
void bilinear_table(const AxisView<index_t>& ah, const AxisView<index_t>& aw, const float* __restrict mask,
                    index_t width, int64_t count, index_t* __restrict index, float* __restrict weight) {
  const index_t* __restrict h_low = ah.low;
  const index_t* __restrict h_high = ah.high;
  const index_t* __restrict w_low = aw.low;
  const index_t* __restrict w_high = aw.high;
  const float* __restrict hw_low = ah.w_low;
  const float* __restrict hw_high = ah.w_high;
  const float* __restrict ww_low = aw.w_low;
  const float* __restrict ww_high = aw.w_high;
  for (int64_t pi = 0; pi < count; ++pi) {
    const index_t h0 = h_low[pi] * width, h1 = h_high[pi] * width;
    const float s0 = mask[pi] * hw_low[pi], s1 = mask[pi] * hw_high[pi];
    index_t* o = index + pi * 4;
    float* q = weight + pi * 4;
    o[0] = h0 + w_low[pi];
    o[1] = h0 + w_high[pi];
    o[2] = h1 + w_low[pi];
    o[3] = h1 + w_high[pi];
    q[0] = s0 * ww_low[pi];
    q[1] = s0 * ww_high[pi];
    q[2] = s1 * ww_low[pi];
    q[3] = s1 * ww_high[pi];
  }
}

// Step 2, 3-D: [position][corner] indices and weights in trilinear_corners' order ((d, h, w) bits).
template <typename index_t>
void trilinear_table(const AxisView<index_t>& ad, const AxisView<index_t>& ah, const AxisView<index_t>& aw,
                     const float* __restrict mask, index_t plane, index_t width, int64_t count,
                     index_t* __restrict index, float* __restrict weight) {
  const index_t* __restrict d_low = ad.low;
  const index_t* __restrict d_high = ad.high;
  const index_t* __restrict h_low = ah.low;
  const index_t* __restrict h_high = ah.high;
  const index_t* __restrict w_low = aw.low;
  const index_t* __restrict w_high = aw.high;
  const float* __restrict dw_low = ad.w_low;
  const float* __restrict dw_high = ad.w_high;
  const float* __restrict hw_low = ah.w_low;
  const float* __restrict hw_high = ah.w_high;
  const float* __restrict ww_low = aw.w_low;
  const float* __restrict ww_high = aw.w_high;
  for (int64_t pi = 0; pi < count; ++pi) {
    const index_t d0 = d_low[pi] * plane, d1 = d_high[pi] * plane;
    const index_t h0 = h_low[pi] * width, h1 = h_high[pi] * width;
    const float m = mask[pi];
    const float w00 = m * dw_low[pi] * hw_low[pi], w01 = m * dw_low[pi] * hw_high[pi];
    const float w10 = m * dw_high[pi] * hw_low[pi], w11 = m * dw_high[pi] * hw_high[pi];
    index_t* o = index + pi * 8;
    float* q = weight + pi * 8;
    o[0] = d0 + h0 + w_low[pi];
    o[1] = d0 + h0 + w_high[pi];
    o[2] = d0 + h1 + w_low[pi];
    o[3] = d0 + h1 + w_high[pi];
    o[4] = d1 + h0 + w_low[pi];
    o[5] = d1 + h0 + w_high[pi];
    o[6] = d1 + h1 + w_low[pi];
    o[7] = d1 + h1 + w_high[pi];
    q[0] = w00 * ww_low[pi];
    q[1] = w00 * ww_high[pi];
    q[2] = w01 * ww_low[pi];
    q[3] = w01 * ww_high[pi];
    q[4] = w10 * ww_low[pi];
    q[5] = w10 * ww_high[pi];
    q[6] = w11 * ww_low[pi];
    q[7] = w11 * ww_high[pi];
  }
}

// With the non-finite guard: a corner outside the input reads the zero pixel appended to x_cl, so a weight-0
// product never meets an Inf/NaN it does not sample; inside corners keep their index even with weight 0 (the
// rule of comix_dcn/sampling.h). Corner i is high on axis a when bit (kAxes - 1 - a) of i is set.
template <int kAxes, typename index_t, bool kGuardNonFinite>
void guard_table(const AxisView<index_t> (&axes)[kAxes], const CornerView<index_t>& corners, int64_t count,
                 index_t zero_pixel) {
  if (!kGuardNonFinite) return;
  constexpr int kCorners = 1 << kAxes;
  index_t* __restrict index = corners.index;
  for (int64_t pi = 0; pi < count; ++pi) {
    for (int i = 0; i < kCorners; ++i) {
      bool inside = true;
      for (int a = 0; a < kAxes; ++a) {
        const bool high = ((i >> (kAxes - 1 - a)) & 1) != 0;
        inside = inside && (high ? axes[a].high_in[pi] : axes[a].low_in[pi]) != 0;
      }
      if (!inside) index[pi * kCorners + i] = zero_pixel;
    }
  }
}

// Columns of positions [p0, p0 + count) of one batch item. offset_n / mask_n point at the item's
// offset (offset_group*K*2, P) and mask (offset_group*K, P) or nullptr; x_cl is (H*W + 1, C).
// Loop order offset group -> kernel point -> position: offsets and mask are read as a few sequential
// streams (measured ~15 % faster than position -> kernel point, whose 4*K offset/mask streams thrash L1).
template <typename index_t, bool kGuardNonFinite>
void fill_columns_2d(const ColumnPlan& plan, const DeformConv2DGeometry& g, const DeformConv2DShape& s,
                     const float* x_cl, const float* offset_n, const float* mask_n, int64_t p0, int64_t count,
                     float* col, FillScratch& scratch) {
  const int64_t P = plan.out_plane, K = plan.kernel_points;
  const index_t height = static_cast<index_t>(s.height), width = static_cast<index_t>(s.width);
  const index_t zero_pixel = static_cast<index_t>(plan.in_plane);
  scratch.base.resize(static_cast<size_t>(2 * count));
  float* base_h = scratch.base.data();
  float* base_w = base_h + count;
  for (int64_t pi = 0; pi < count; ++pi) {
    const int64_t p = p0 + pi;
    const int64_t oh = p / s.out_width, ow = p - oh * s.out_width;
    base_h[pi] = base_coordinate<float, int64_t>(oh, g.stride_h, g.pad_h_begin, 0, g.dilation_h);
    base_w[pi] = base_coordinate<float, int64_t>(ow, g.stride_w, g.pad_w_begin, 0, g.dilation_w);
  }
  scratch.tap.resize(static_cast<size_t>(2 * K));
  float* tap_h = scratch.tap.data();
  float* tap_w = tap_h + K;
  for (int64_t k = 0; k < K; ++k) {
    int64_t kh, kw;
    kernel_point_2d<int64_t>(k, g.kernel_w, kh, kw);
    tap_h[k] = static_cast<float>(kh * g.dilation_h);
    tap_w[k] = static_cast<float>(kw * g.dilation_w);
  }
  for (int64_t og = 0; og < plan.offset_group; ++og) {
    const std::vector<ChannelSegment>& segments = plan.segments[static_cast<size_t>(og)];
    const float* off_og = offset_n + offset_channel<int64_t>(og, K, 0, 2, 0) * P + p0;
    const float* mask_og = mask_n ? mask_n + mask_channel<int64_t>(og, K, 0) * P + p0 : nullptr;
    for (int64_t k = 0; k < K; ++k) {
      const AxisView<index_t> ah = axis_view<index_t>(scratch.axis[0], count);
      const AxisView<index_t> aw = axis_view<index_t>(scratch.axis[1], count);
      fill_axis<index_t>(base_h, tap_h[k], off_og + (k * 2 + 0) * P, height, count, ah);
      fill_axis<index_t>(base_w, tap_w[k], off_og + (k * 2 + 1) * P, width, count, aw);
      const float* __restrict mask_k = mask_row(mask_og, k, P, scratch, count);
      const CornerView<index_t> corners = corner_view<4, index_t>(scratch, count);
      bilinear_table<index_t>(ah, aw, mask_k, width, count, corners.index, corners.weight);
      const AxisView<index_t> axes[2] = {ah, aw};
      guard_table<2, index_t, kGuardNonFinite>(axes, corners, count, zero_pixel);
      write_block<4, index_t>(plan, segments, x_cl, corners.index, corners.weight, k, count, col);
    }
  }
}

template <typename index_t, bool kGuardNonFinite>
void fill_columns_3d(const ColumnPlan& plan, const DeformConv3DGeometry& g, const DeformConv3DShape& s,
                     const float* x_cl, const float* offset_n, const float* mask_n, int64_t p0, int64_t count,
                     float* col, FillScratch& scratch) {
  const int64_t P = plan.out_plane, K = plan.kernel_points;
  const index_t depth = static_cast<index_t>(s.depth), height = static_cast<index_t>(s.height),
                width = static_cast<index_t>(s.width);
  const index_t zero_pixel = static_cast<index_t>(plan.in_plane);
  scratch.base.resize(static_cast<size_t>(3 * count));
  float* base_d = scratch.base.data();
  float* base_h = base_d + count;
  float* base_w = base_h + count;
  const int64_t out_hw = s.out_height * s.out_width;
  for (int64_t pi = 0; pi < count; ++pi) {
    const int64_t p = p0 + pi;
    const int64_t od = p / out_hw, rest = p - od * out_hw;
    const int64_t oh = rest / s.out_width, ow = rest - oh * s.out_width;
    base_d[pi] = base_coordinate<float, int64_t>(od, g.stride_d, g.pad_d_begin, 0, g.dilation_d);
    base_h[pi] = base_coordinate<float, int64_t>(oh, g.stride_h, g.pad_h_begin, 0, g.dilation_h);
    base_w[pi] = base_coordinate<float, int64_t>(ow, g.stride_w, g.pad_w_begin, 0, g.dilation_w);
  }
  scratch.tap.resize(static_cast<size_t>(3 * K));
  float* tap_d = scratch.tap.data();
  float* tap_h = tap_d + K;
  float* tap_w = tap_h + K;
  for (int64_t k = 0; k < K; ++k) {
    int64_t kd, kh, kw;
    kernel_point_3d<int64_t>(k, g.kernel_h, g.kernel_w, kd, kh, kw);
    tap_d[k] = static_cast<float>(kd * g.dilation_d);
    tap_h[k] = static_cast<float>(kh * g.dilation_h);
    tap_w[k] = static_cast<float>(kw * g.dilation_w);
  }
  for (int64_t og = 0; og < plan.offset_group; ++og) {
    const std::vector<ChannelSegment>& segments = plan.segments[static_cast<size_t>(og)];
    const float* off_og = offset_n + offset_channel<int64_t>(og, K, 0, 3, 0) * P + p0;
    const float* mask_og = mask_n ? mask_n + mask_channel<int64_t>(og, K, 0) * P + p0 : nullptr;
    const index_t plane = height * width;
    for (int64_t k = 0; k < K; ++k) {
      const AxisView<index_t> ad = axis_view<index_t>(scratch.axis[0], count);
      const AxisView<index_t> ah = axis_view<index_t>(scratch.axis[1], count);
      const AxisView<index_t> aw = axis_view<index_t>(scratch.axis[2], count);
      fill_axis<index_t>(base_d, tap_d[k], off_og + (k * 3 + 0) * P, depth, count, ad);
      fill_axis<index_t>(base_h, tap_h[k], off_og + (k * 3 + 1) * P, height, count, ah);
      fill_axis<index_t>(base_w, tap_w[k], off_og + (k * 3 + 2) * P, width, count, aw);
      const float* __restrict mask_k = mask_row(mask_og, k, P, scratch, count);
      const CornerView<index_t> corners = corner_view<8, index_t>(scratch, count);
      trilinear_table<index_t>(ad, ah, aw, mask_k, plane, width, count, corners.index, corners.weight);
      const AxisView<index_t> axes[3] = {ad, ah, aw};
      guard_table<3, index_t, kGuardNonFinite>(axes, corners, count, zero_pixel);
      write_block<8, index_t>(plan, segments, x_cl, corners.index, corners.weight, k, count, col);
    }
  }
}

}  // namespace cpu
}  // namespace dcn
}  // namespace comix
