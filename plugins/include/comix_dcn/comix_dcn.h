// comix_dcn/comix_dcn.h — umbrella header of the framework-free DCN math (device-safe parts only).
//
//   macros.h    COMIX_HD / COMIX_INLINE, floor_value
//   geometry.h  DeformConv2DGeometry / DeformConv3DGeometry (named per-axis fields), conv_output_size,
//               make_geometry_2d/3d from ONNX attribute arrays
//   layout.h    offset / mask channel layout, kernel point enumeration, base sampling coordinate,
//               DeformConv2DShape / DeformConv3DShape, needs_64bit_index
//   sampling.h  bilinear / trilinear corners and samples (zero outside), templated on
//               scalar_t (storage), acc_t (arithmetic, FP32 for FP16 storage), index_t (int32/int64)
//   validate.h  (host only, include it yourself) attribute and shape checks with got/expected messages
#pragma once

#define COMIX_DCN_HEADER_VERSION 1

#include "comix_dcn/geometry.h"
#include "comix_dcn/layout.h"
#include "comix_dcn/macros.h"
#include "comix_dcn/sampling.h"
