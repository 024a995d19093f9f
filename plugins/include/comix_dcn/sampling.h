// comix_dcn/sampling.h — bilinear (2-D) and trilinear (3-D) sampling with ONNX DeformConv border rules.
//
// A sampling point p (real-valued, in input pixel units) reads the 2^nd grid corners around it,
// floor(p) and floor(p)+1 on each axis, with weights (1 - frac) and frac. A corner outside the input
// contributes zero (no clamping, no border replication); a point with every corner outside gives 0.
// NaN coordinates give 0.
//
// Two layers, so every host shares the math:
//   *_corners(...)   -> SampleCorners: the 2^nd spatial indices (into a plane of in_plane elements,
//                       row-major over the spatial axes) and weights; outside corners get weight 0 and
//                       index 0, so a consumer can gather all corners branch-free. Hosts that sample
//                       many channels at one point (CPU channels-last, CUDA several channels per thread)
//                       compute the corners once and reuse them.
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
};

template <typename acc_t, typename index_t>
using BilinearCorners = SampleCorners<acc_t, index_t, 4>;
template <typename acc_t, typename index_t>
using TrilinearCorners = SampleCorners<acc_t, index_t, 8>;

// True when a point along an axis of `size` samples at least one in-range corner: -1 < p < size.
// Written so that NaN is "outside".
template <typename acc_t, typename index_t>
COMIX_INLINE bool axis_reachable(acc_t p, index_t size) {
  return (p > static_cast<acc_t>(-1)) & (p < static_cast<acc_t>(size));
}

// Per-axis corner pair: low/high grid index and their weights; an outside corner has index 0, weight 0.
template <typename acc_t, typename index_t>
struct AxisCorners {
  index_t low, high;
  acc_t w_low, w_high;
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
  return a;
}

// Corners of point (h, w) in an H x W plane; every weight multiplied by `scale` (the mask, or 1).
// Returns false (all weights 0, all indices 0) when no corner is inside.
template <typename acc_t, typename index_t>
COMIX_INLINE bool bilinear_corners(acc_t h, acc_t w, index_t height, index_t width, acc_t scale,
                                   BilinearCorners<acc_t, index_t>& out) {
  const bool inside = axis_reachable(h, height) & axis_reachable(w, width);
  // an axis out of reach zeroes its two weights, hence every corner weight (products over axes)
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
  return inside;
}

// Corners of point (d, h, w) in a D x H x W volume; corner i has bits (d, h, w) = (i>>2, i>>1, i) & 1.
// Returns false (all weights 0, all indices 0) when no corner is inside.
template <typename acc_t, typename index_t>
COMIX_INLINE bool trilinear_corners(acc_t d, acc_t h, acc_t w, index_t depth, index_t height, index_t width,
                                    acc_t scale, TrilinearCorners<acc_t, index_t>& out) {
  const bool inside = axis_reachable(d, depth) & axis_reachable(h, height) & axis_reachable(w, width);
  // an axis out of reach zeroes its two weights, hence every corner weight (products over axes)
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
  return inside;
}

// Weighted sum of the corners of one channel. `element_stride` is the distance in elements between
// consecutive spatial indices: 1 for a channel plane of NC* data, C for channels-last data.
template <typename scalar_t, typename acc_t, typename index_t, int kCorners>
COMIX_INLINE acc_t gather_corners(const scalar_t* data, index_t element_stride,
                                  const SampleCorners<acc_t, index_t, kCorners>& c) {
  acc_t sum = 0;
  for (int i = 0; i < kCorners; ++i) {
    sum += c.weight[i] * static_cast<acc_t>(data[c.index[i] * element_stride]);
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
COMIX_INLINE acc_t trilinear_sample(const scalar_t* volume, index_t depth, index_t height, index_t width, acc_t d,
                                    acc_t h, acc_t w) {
  TrilinearCorners<acc_t, index_t> c;
  if (!trilinear_corners<acc_t, index_t>(d, h, w, depth, height, width, static_cast<acc_t>(1), c)) return 0;
  return gather_corners<scalar_t, acc_t, index_t, 8>(volume, 1, c);
}

}  // namespace dcn
}  // namespace comix
