// im2col.h — deformable im2col of one block of output positions into the column buffer (channels-last x).
//
// For every offset group, position and kernel point, the 2^nd corner indices and weights (mask folded
// in) come from comix_dcn/sampling.h once, and are blended over every channel of the offset group with a
// contiguous (vectorised) loop over channels. Corners outside the input have weight 0 and index 0;
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

// Per-thread scratch of the column fill.
struct FillScratch {
  std::vector<float> base;  // nd * block: p*stride - pad_begin per axis
  std::vector<float> tap;   // nd * K: kernel position * dilation per axis (no divisions in the hot loop)
};

// dst[j] = sum_i weight[i] * x_cl[index[i] * C + j] for j in [0, len); x_cl already offset to the segment.
template <int kCorners, typename index_t>
inline void blend_channels(const float* x_cl, int64_t channels, const SampleCorners<float, index_t, kCorners>& c,
                           float* __restrict dst, int64_t len) {
  const float* src[kCorners];
  float w[kCorners];
  for (int i = 0; i < kCorners; ++i) {
    src[i] = x_cl + static_cast<int64_t>(c.index[i]) * channels;
    w[i] = c.weight[i];
  }
  for (int64_t j = 0; j < len; ++j) {
    float acc = w[0] * src[0][j];
    for (int i = 1; i < kCorners; ++i) acc += w[i] * src[i][j];
    dst[j] = acc;
  }
}

// Sends the corners outside the input to the zero pixel (inside corners keep their index, weight 0 or not).
template <int kCorners, typename index_t>
inline void use_zero_pixel(SampleCorners<float, index_t, kCorners>& c, index_t zero_pixel) {
  for (int i = 0; i < kCorners; ++i) c.index[i] = c.is_inside(i) ? c.index[i] : zero_pixel;
}

// Writes one (position, kernel point) sample of every channel of the offset group's segments.
template <int kCorners, typename index_t>
inline void write_sample(const ColumnPlan& plan, const std::vector<ChannelSegment>& segments, const float* x_cl,
                         const SampleCorners<float, index_t, kCorners>& c, int64_t k, float* col_row) {
  for (const ChannelSegment& s : segments) {
    float* dst = col_row + s.group * plan.group_row + k * plan.channels_per_group +
                 (s.begin - s.group * plan.channels_per_group);
    blend_channels<kCorners, index_t>(x_cl + s.begin, plan.channels, c, dst, s.end - s.begin);
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
      for (int64_t pi = 0; pi < count; ++pi) {
        float* col_row = col + pi * plan.row;
        const float h = base_h[pi] + tap_h[k] + off_og[(k * 2 + 0) * P + pi];
        const float w = base_w[pi] + tap_w[k] + off_og[(k * 2 + 1) * P + pi];
        BilinearCorners<float, index_t> c;
        bilinear_corners<float, index_t>(h, w, height, width, mask_og ? mask_og[k * P + pi] : 1.0f, c);
        if (kGuardNonFinite) use_zero_pixel<4, index_t>(c, zero_pixel);
        write_sample<4, index_t>(plan, segments, x_cl, c, k, col_row);
      }
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
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t pi = 0; pi < count; ++pi) {
        float* col_row = col + pi * plan.row;
        const float d = base_d[pi] + tap_d[k] + off_og[(k * 3 + 0) * P + pi];
        const float h = base_h[pi] + tap_h[k] + off_og[(k * 3 + 1) * P + pi];
        const float w = base_w[pi] + tap_w[k] + off_og[(k * 3 + 2) * P + pi];
        TrilinearCorners<float, index_t> c;
        trilinear_corners<float, index_t>(d, h, w, depth, height, width, mask_og ? mask_og[k * P + pi] : 1.0f, c);
        if (kGuardNonFinite) use_zero_pixel<8, index_t>(c, zero_pixel);
        write_sample<8, index_t>(plan, segments, x_cl, c, k, col_row);
      }
    }
  }
}

}  // namespace cpu
}  // namespace dcn
}  // namespace comix
