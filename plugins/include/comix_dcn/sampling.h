// comix_dcn/sampling.h — bilinear (2-D) and trilinear (3-D) sampling with ONNX DeformConv border rules.
//
// A sampling point p (real-valued, in input pixel units) reads the 2^nd grid corners around it,
// floor(p) and floor(p)+1 on each axis, with weights (1 - frac) and frac. A corner outside the input
// contributes zero (no clamping, no border replication); a point with every corner outside gives 0.
// NaN coordinates give 0.
//
// Non-finite input values (the rule of comix/ops/spec.py, shared by every backend and the float64
// reference): a corner OUTSIDE the input is never read and contributes exactly 0, so an Inf/NaN stored
// anywhere cannot leak into it (0 * Inf would be NaN); a corner INSIDE is read and multiplied by its
// weight with IEEE arithmetic, so an in-bounds Inf/NaN corner propagates even when its weight is 0.
// SampleCorners::inside says which corners may be read.
//
// Two layers, so every host shares the math:
//   *_corners(...)   -> SampleCorners: the 2^nd spatial indices (into a plane of in_plane elements,
//                       row-major over the spatial axes), weights and the inside bits; outside corners
//                       get weight 0 and index 0 (a valid address), so a host that knows its input is
//                       finite may gather all corners branch-free; otherwise read only the inside ones.
//                       Hosts that sample many channels at one point (CPU channels-last, CUDA several
//                       channels per thread) compute the corners once and reuse them.
//   *_sample(...)    -> one value from one channel plane (scalar_t storage, acc_t arithmetic).
// Templates: scalar_t = storage type (float, __half, double), acc_t = arithmetic type (float for float
// and half storage: FP32 accumulation; double for the float64 check), index_t = int32_t or int64_t
// (choose with layout.h: needs_64bit_index).
#pragma once

#include "comix_dcn/macros.h"

namespace comix {
namespace dcn {

template <typename acc_t, typename index_t, int kCorners>
struct SampleCorners {
  index_t index[kCorners];  // spatial index of each corner in its plane (0 when outside)
  acc_t weight[kCorners];   // interpolation weight (0 when outside), already multiplied by `scale`
  unsigned inside;          // bit i set when corner i lies inside the input: only those may be read

  COMIX_INLINE bool is_inside(int i) const { return ((inside >> i) & 1u) != 0u; }
};

template <typename acc_t, typename index_t>
using BilinearCorners = SampleCorners<acc_t, index_t, 4>;
template <typename acc_t, typename index_t>
using TrilinearCorners = SampleCorners<acc_t, index_t, 8>;

// Per-axis corner pair: low/high grid index, their weights and whether each is inside the axis; an
// outside corner has index 0, weight 0.
template <typename acc_t, typename index_t>
struct AxisCorners {
  index_t low, high;
  acc_t w_low, w_high;
  bool low_in, high_in;
};

// Corner pair of one axis. Branch-free (selects only), so a host loop over many points vectorises and
// GPU threads do not diverge. p is first clamped to [-2, size] (NaN -> -2): a point outside the reach
// of the axis then has both corners outside, hence both weights 0, and floor(p) always fits index_t.
template <typename acc_t, typename index_t>
COMIX_INLINE AxisCorners<acc_t, index_t> axis_corners(acc_t p, index_t size) {
  const acc_t lowest = static_cast<acc_t>(-2), highest = static_cast<acc_t>(size);
  const acc_t q0 = p > lowest ? p : lowest;  // NaN compares false -> lowest
  const acc_t q = q0 < highest ? q0 : highest;
  const acc_t f = floor_value(q);
  const acc_t frac = q - f;
  const index_t low = static_cast<index_t>(f);
  const index_t high = low + 1;
  const bool low_in = (low >= 0) & (low < size);
  const bool high_in = (high >= 0) & (high < size);
  AxisCorners<acc_t, index_t> a;
  a.low = low_in ? low : static_cast<index_t>(0);
  a.high = high_in ? high : static_cast<index_t>(0);
  a.w_low = low_in ? static_cast<acc_t>(1) - frac : static_cast<acc_t>(0);
  a.w_high = high_in ? frac : static_cast<acc_t>(0);
  a.low_in = low_in;
  a.high_in = high_in;
  return a;
}

// Corners of point (h, w) in an H x W plane; every weight multiplied by `scale` (the mask, or 1).
// Returns false (inside = 0, all weights 0, all indices 0) when no corner is inside.
template <typename acc_t, typename index_t>
COMIX_INLINE bool bilinear_corners(acc_t h, acc_t w, index_t height, index_t width, acc_t scale,
                                   BilinearCorners<acc_t, index_t>& out) {
  // an axis out of reach has both corners outside, hence every corner of the point (products over axes)
  const AxisCorners<acc_t, index_t> ch = axis_corners(h, height);
  const AxisCorners<acc_t, index_t> cw = axis_corners(w, width);
  // corner order: (h_low, w_low), (h_low, w_high), (h_high, w_low), (h_high, w_high)
  out.index[0] = ch.low * width + cw.low;
  out.index[1] = ch.low * width + cw.high;
  out.index[2] = ch.high * width + cw.low;
  out.index[3] = ch.high * width + cw.high;
  out.weight[0] = scale * ch.w_low * cw.w_low;
  out.weight[1] = scale * ch.w_low * cw.w_high;
  out.weight[2] = scale * ch.w_high * cw.w_low;
  out.weight[3] = scale * ch.w_high * cw.w_high;
  out.inside = static_cast<unsigned>(ch.low_in & cw.low_in) |
               (static_cast<unsigned>(ch.low_in & cw.high_in) << 1) |
               (static_cast<unsigned>(ch.high_in & cw.low_in) << 2) |
               (static_cast<unsigned>(ch.high_in & cw.high_in) << 3);
  return out.inside != 0u;
}

// Corners of point (d, h, w) in a D x H x W volume; corner i has bits (d, h, w) = (i>>2, i>>1, i) & 1.
// Returns false (inside = 0, all weights 0, all indices 0) when no corner is inside.
template <typename acc_t, typename index_t>
COMIX_INLINE bool trilinear_corners(acc_t d, acc_t h, acc_t w, index_t depth, index_t height, index_t width,
                                    acc_t scale, TrilinearCorners<acc_t, index_t>& out) {
  // an axis out of reach has both corners outside, hence every corner of the point (products over axes)
  const AxisCorners<acc_t, index_t> cd = axis_corners(d, depth);
  const AxisCorners<acc_t, index_t> ch = axis_corners(h, height);
  const AxisCorners<acc_t, index_t> cw = axis_corners(w, width);
  const index_t plane = height * width;
  const index_t d0 = cd.low * plane, d1 = cd.high * plane;
  const index_t h0 = ch.low * width, h1 = ch.high * width;
  const acc_t w00 = scale * cd.w_low * ch.w_low, w01 = scale * cd.w_low * ch.w_high;
  const acc_t w10 = scale * cd.w_high * ch.w_low, w11 = scale * cd.w_high * ch.w_high;
  out.index[0] = d0 + h0 + cw.low;
  out.index[1] = d0 + h0 + cw.high;
  out.index[2] = d0 + h1 + cw.low;
  out.index[3] = d0 + h1 + cw.high;
  out.index[4] = d1 + h0 + cw.low;
  out.index[5] = d1 + h0 + cw.high;
  out.index[6] = d1 + h1 + cw.low;
  out.index[7] = d1 + h1 + cw.high;
  out.weight[0] = w00 * cw.w_low;
  out.weight[1] = w00 * cw.w_high;
  out.weight[2] = w01 * cw.w_low;
  out.weight[3] = w01 * cw.w_high;
  out.weight[4] = w10 * cw.w_low;
  out.weight[5] = w10 * cw.w_high;
  out.weight[6] = w11 * cw.w_low;
  out.weight[7] = w11 * cw.w_high;
  out.inside = 0u;
  for (int i = 0; i < 8; ++i) {
    const bool in_d = (i & 4) ? cd.high_in : cd.low_in;
    const bool in_h = (i & 2) ? ch.high_in : ch.low_in;
    const bool in_w = (i & 1) ? cw.high_in : cw.low_in;
    out.inside |= static_cast<unsigned>(in_d & in_h & in_w) << i;
  }
  return out.inside != 0u;
}

// Weighted sum of the inside corners of one channel (outside corners are not read). `element_stride` is
// the distance in elements between consecutive spatial indices: 1 for a channel plane of NC* data, C for
// channels-last data.
template <typename scalar_t, typename acc_t, typename index_t, int kCorners>
COMIX_INLINE acc_t gather_corners(const scalar_t* data, index_t element_stride,
                                  const SampleCorners<acc_t, index_t, kCorners>& c) {
  acc_t sum = 0;
  for (int i = 0; i < kCorners; ++i) {
    if (c.is_inside(i)) sum += c.weight[i] * static_cast<acc_t>(data[c.index[i] * element_stride]);
  }
  return sum;
}

// One bilinear sample of an H x W channel plane at (h, w); 0 when every corner is outside.
template <typename scalar_t, typename acc_t, typename index_t>
COMIX_INLINE acc_t bilinear_sample(const scalar_t* plane, index_t height, index_t width, acc_t h, acc_t w) {
  BilinearCorners<acc_t, index_t> c;
  if (!bilinear_corners<acc_t, index_t>(h, w, height, width, static_cast<acc_t>(1), c)) return 0;
  return gather_corners<scalar_t, acc_t, index_t, 4>(plane, 1, c);
}

// One trilinear sample of a D x H x W channel volume at (d, h, w); 0 when every corner is outside.
template <typename scalar_t, typename acc_t, typename index_t>
COMIX_INLINE acc_t trilinear_sample(const scalar_t* volume, index_t depth, index_t height, index_t width,
                                    acc_t d, acc_t h, acc_t w) {
  TrilinearCorners<acc_t, index_t> c;
  if (!trilinear_corners<acc_t, index_t>(d, h, w, depth, height, width, static_cast<acc_t>(1), c)) return 0;
  return gather_corners<scalar_t, acc_t, index_t, 8>(volume, 1, c);
}

}  // namespace dcn
}  // namespace comix
