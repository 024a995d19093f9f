// deformConvPlugin/deformConvAttributes.h — the ONNX DeformConv / DeformConv3D attributes of one plugin.
//
// Axis order is the tensor's spatial order ([H, W] or [D, H, W]); pads are all begins, then all ends,
// exactly as ONNX (comix/ops/spec.py). Parsed and range-checked from a PluginFieldCollection in one
// place, written back as INT32 fields for serialization, and turned into the shared named geometry
// structs (comix_dcn/geometry.h) for the kernels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comix_dcn/geometry.h"
#include "common/pluginFields.h"
#include "common/trtCompat.h"

namespace comix {
namespace trt {

struct DeformConvAttributes
{
    int32_t spatialDims{2};           // 2 (DeformConv) or 3 (DeformConv3D)
    std::vector<int64_t> kernelShape; // empty = not given: taken from W's shape
    std::vector<int64_t> strides;     // spatialDims values
    std::vector<int64_t> pads;        // 2 * spatialDims values: begins, then ends
    std::vector<int64_t> dilations;   // spatialDims values
    int64_t group{1};
    int64_t offsetGroup{1};

    // ONNX defaults for `spatialDims` axes (strides 1, pads 0, dilations 1, groups 1, no kernel_shape).
    static DeformConvAttributes defaults(int32_t spatialDims);

    bool operator==(DeformConvAttributes const& other) const;
    bool operator!=(DeformConvAttributes const& other) const
    {
        return !(*this == other);
    }

    // Named geometry for the kernels; `kernel` = the kernel sizes (kernelShape or W's shape).
    dcn::DeformConv2DGeometry geometry2d(std::vector<int64_t> const& kernel) const;
    dcn::DeformConv3DGeometry geometry3d(std::vector<int64_t> const& kernel) const;

    // "kernel_shape=[3,3] strides=[2,1] ..." for messages.
    std::string describe() const;
};

// Field names, in serialization order.
extern char const* const kKernelShapeField;
extern char const* const kStridesField;
extern char const* const kPadsField;
extern char const* const kDilationsField;
extern char const* const kGroupField;
extern char const* const kOffsetGroupField;

// Parses every field of `fc` (null = all defaults). Refuses unknown and repeated names, wrong types,
// lengths and out-of-range values. Returns "" on success, else the message (attributes left unchanged).
std::string parseDeformConvAttributes(int32_t spatialDims, nvinfer1::PluginFieldCollection const* fc,
                                      DeformConvAttributes& attributes);

// The fields a creator advertises in getFieldNames() (name and type; lengths for the given dims).
std::vector<nvinfer1::PluginField> deformConvFieldNames(int32_t spatialDims);

// Writes `attributes` as INT32 fields (kernel_shape only when known).
void writeDeformConvAttributes(DeformConvAttributes const& attributes, IntFieldWriter& writer);

} // namespace trt
} // namespace comix
