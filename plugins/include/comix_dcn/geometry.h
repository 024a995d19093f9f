// comix_dcn/geometry.h — named spatial parameters of a 2-D / 3-D (modulated) deformable convolution.
//
// One struct per dimensionality, one field per axis, so no caller can swap H and W by passing a
// positional list. Axis order everywhere is the tensor's spatial order: [H, W] in 2-D, [D, H, W] in 3-D,
// exactly as ONNX DeformConv orders kernel_shape / strides / dilations, and pads = all begins, then all
// ends (2-D: h_begin, w_begin, h_end, w_end; 3-D: d_begin, h_begin, w_begin, d_end, h_end, w_end).
//
// Build a geometry from ONNX attributes with make_geometry_2d / make_geometry_3d (they copy in the
// documented order), then check it with comix/dcn/validate.h (host only) before launching anything.
// Mirrors comix/ops/geometry.py (DeformConvGeometry).
#pragma once

#include "comix_dcn/macros.h"

namespace comix {
namespace dcn {

struct DeformConv2DGeometry {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h_begin = 0, pad_w_begin = 0;
  int64_t pad_h_end = 0, pad_w_end = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t group = 1;         // input/output channels split as in a grouped convolution
  int64_t offset_group = 1;  // input channels split into sets that share one offset (and mask) field

  static constexpr int kSpatialDims = 2;
  COMIX_INLINE int64_t kernel_points() const { return kernel_h * kernel_w; }
};

struct DeformConv3DGeometry {
  int64_t kernel_d = 1, kernel_h = 1, kernel_w = 1;
  int64_t stride_d = 1, stride_h = 1, stride_w = 1;
  int64_t pad_d_begin = 0, pad_h_begin = 0, pad_w_begin = 0;
  int64_t pad_d_end = 0, pad_h_end = 0, pad_w_end = 0;
  int64_t dilation_d = 1, dilation_h = 1, dilation_w = 1;
  int64_t group = 1;
  int64_t offset_group = 1;

  static constexpr int kSpatialDims = 3;
  COMIX_INLINE int64_t kernel_points() const { return kernel_d * kernel_h * kernel_w; }
};

// Output size along one axis, as for a convolution:
//   floor((in + pad_begin + pad_end - dilation*(kernel-1) - 1) / stride) + 1.
// Returns -1 when the padded input is smaller than the dilated kernel extent or a parameter is
// out of range (stride < 1, dilation < 1, kernel < 1); validate.h turns that into a message.
COMIX_INLINE int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                                      int64_t pad_end, int64_t dilation) {
  if (kernel < 1 || stride < 1 || dilation < 1 || pad_begin < 0 || pad_end < 0 || in < 0) return -1;
  const int64_t span = dilation * (kernel - 1) + 1;
  const int64_t padded = in + pad_begin + pad_end;
  if (padded < span) return -1;
  return (padded - span) / stride + 1;
}

// ONNX attribute arrays -> named struct. Arrays must have the lengths ONNX defines (kernel/strides/
// dilations: 2 or 3; pads: 4 or 6) — check the lengths first (validate.h: check_attribute_lengths).
COMIX_INLINE DeformConv2DGeometry make_geometry_2d(const int64_t* kernel_shape, const int64_t* strides,
                                                   const int64_t* pads, const int64_t* dilations,
                                                   int64_t group, int64_t offset_group) {
  DeformConv2DGeometry g;
  g.kernel_h = kernel_shape[0];
  g.kernel_w = kernel_shape[1];
  g.stride_h = strides[0];
  g.stride_w = strides[1];
  g.pad_h_begin = pads[0];
  g.pad_w_begin = pads[1];
  g.pad_h_end = pads[2];
  g.pad_w_end = pads[3];
  g.dilation_h = dilations[0];
  g.dilation_w = dilations[1];
  g.group = group;
  g.offset_group = offset_group;
  return g;
}

COMIX_INLINE DeformConv3DGeometry make_geometry_3d(const int64_t* kernel_shape, const int64_t* strides,
                                                   const int64_t* pads, const int64_t* dilations,
                                                   int64_t group, int64_t offset_group) {
  DeformConv3DGeometry g;
  g.kernel_d = kernel_shape[0];
  g.kernel_h = kernel_shape[1];
  g.kernel_w = kernel_shape[2];
  g.stride_d = strides[0];
  g.stride_h = strides[1];
  g.stride_w = strides[2];
  g.pad_d_begin = pads[0];
  g.pad_h_begin = pads[1];
  g.pad_w_begin = pads[2];
  g.pad_d_end = pads[3];
  g.pad_h_end = pads[4];
  g.pad_w_end = pads[5];
  g.dilation_d = dilations[0];
  g.dilation_h = dilations[1];
  g.dilation_w = dilations[2];
  g.group = group;
  g.offset_group = offset_group;
  return g;
}

}  // namespace dcn
}  // namespace comix
