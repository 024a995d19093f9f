// deformConvPlugin/deformConvAttributes.cpp — see deformConvAttributes.h.
#include "deformConvPlugin/deformConvAttributes.h"

#include <cstring>
#include <sstream>

namespace comix {
namespace trt {

char const* const kKernelShapeField = "kernel_shape";
char const* const kStridesField = "strides";
char const* const kPadsField = "pads";
char const* const kDilationsField = "dilations";
char const* const kGroupField = "group";
char const* const kOffsetGroupField = "offset_group";

namespace {

// Sanity bounds: far above any real network, far below int32 overflow in index math.
constexpr int64_t kMaxKernel = 1024;
constexpr int64_t kMaxStride = 1024;
constexpr int64_t kMaxDilation = 1024;
constexpr int64_t kMaxPad = 1 << 20;
constexpr int64_t kMaxGroups = 1 << 20;

// Fields the ONNX parser may add for routing; they carry no DCN semantics.
bool isRoutingField(char const* name)
{
    return std::strcmp(name, "plugin_namespace") == 0 || std::strcmp(name, "plugin_version") == 0;
}

std::string joined(std::vector<int64_t> const& values)
{
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < values.size(); ++i)
    {
        out << (i ? "," : "") << values[i];
    }
    out << "]";
    return out.str();
}

} // namespace

DeformConvAttributes DeformConvAttributes::defaults(int32_t spatialDims)
{
    DeformConvAttributes a;
    a.spatialDims = spatialDims;
    a.strides.assign(static_cast<size_t>(spatialDims), 1);
    a.pads.assign(static_cast<size_t>(2 * spatialDims), 0);
    a.dilations.assign(static_cast<size_t>(spatialDims), 1);
    return a;
}

bool DeformConvAttributes::operator==(DeformConvAttributes const& other) const
{
    return spatialDims == other.spatialDims && kernelShape == other.kernelShape && strides == other.strides
           && pads == other.pads && dilations == other.dilations && group == other.group
           && offsetGroup == other.offsetGroup;
}

dcn::DeformConv2DGeometry DeformConvAttributes::geometry2d(std::vector<int64_t> const& kernel) const
{
    return dcn::make_geometry_2d(kernel.data(), strides.data(), pads.data(), dilations.data(), group, offsetGroup);
}

dcn::DeformConv3DGeometry DeformConvAttributes::geometry3d(std::vector<int64_t> const& kernel) const
{
    return dcn::make_geometry_3d(kernel.data(), strides.data(), pads.data(), dilations.data(), group, offsetGroup);
}

std::string DeformConvAttributes::describe() const
{
    return std::string("kernel_shape=") + (kernelShape.empty() ? "(from W)" : joined(kernelShape))
           + " strides=" + joined(strides) + " pads=" + joined(pads) + " dilations=" + joined(dilations)
           + " group=" + std::to_string(group) + " offset_group=" + std::to_string(offsetGroup);
}

std::string parseDeformConvAttributes(int32_t spatialDims, nvinfer1::PluginFieldCollection const* fc,
                                      DeformConvAttributes& attributes)
{
    if (spatialDims != 2 && spatialDims != 3)
    {
        return "spatial dims: got " + std::to_string(spatialDims) + ", expected 2 or 3";
    }
    DeformConvAttributes parsed = DeformConvAttributes::defaults(spatialDims);
    if (fc == nullptr)
    {
        attributes = parsed;
        return "";
    }
    if (fc->nbFields < 0 || (fc->nbFields > 0 && fc->fields == nullptr))
    {
        return "field collection: got nbFields=" + std::to_string(fc->nbFields)
               + " with fields=" + (fc->fields ? "non-null" : "null") + ", expected nbFields >= 0 and fields set";
    }
    IntFieldSpec const specs[] = {
        {kKernelShapeField, spatialDims, 1, kMaxKernel},
        {kStridesField, spatialDims, 1, kMaxStride},
        {kPadsField, 2 * spatialDims, 0, kMaxPad},
        {kDilationsField, spatialDims, 1, kMaxDilation},
        {kGroupField, 1, 1, kMaxGroups},
        {kOffsetGroupField, 1, 1, kMaxGroups},
    };
    std::vector<std::string> seen;
    for (int32_t i = 0; i < fc->nbFields; ++i)
    {
        nvinfer1::PluginField const& field = fc->fields[i];
        if (field.name == nullptr)
        {
            return "field " + std::to_string(i)
                   + ": got a null name, expected one of kernel_shape, strides, pads, "
                     "dilations, group, offset_group";
        }
        if (isRoutingField(field.name))
        {
            continue;
        }
        IntFieldSpec const* spec = nullptr;
        for (IntFieldSpec const& candidate : specs)
        {
            if (std::strcmp(candidate.name, field.name) == 0)
            {
                spec = &candidate;
            }
        }
        if (spec == nullptr)
        {
            return std::string("attribute '") + field.name
                   + "': unknown, expected one of kernel_shape, strides, "
                     "pads, dilations, group, offset_group";
        }
        for (std::string const& name : seen)
        {
            if (name == field.name)
            {
                return std::string("attribute '") + field.name + "': given twice, expected at most once";
            }
        }
        seen.emplace_back(field.name);
        std::vector<int64_t> values;
        std::string const error = readIntField(field, *spec, values);
        if (!error.empty())
        {
            return error;
        }
        if (std::strcmp(spec->name, kKernelShapeField) == 0)
        {
            parsed.kernelShape = values;
        }
        else if (std::strcmp(spec->name, kStridesField) == 0)
        {
            parsed.strides = values;
        }
        else if (std::strcmp(spec->name, kPadsField) == 0)
        {
            parsed.pads = values;
        }
        else if (std::strcmp(spec->name, kDilationsField) == 0)
        {
            parsed.dilations = values;
        }
        else if (std::strcmp(spec->name, kGroupField) == 0)
        {
            parsed.group = values[0];
        }
        else
        {
            parsed.offsetGroup = values[0];
        }
    }
    attributes = parsed;
    return "";
}

std::vector<nvinfer1::PluginField> deformConvFieldNames(int32_t spatialDims)
{
    using nvinfer1::PluginField;
    using nvinfer1::PluginFieldType;
    return {
        PluginField(kKernelShapeField, nullptr, PluginFieldType::kINT32, spatialDims),
        PluginField(kStridesField, nullptr, PluginFieldType::kINT32, spatialDims),
        PluginField(kPadsField, nullptr, PluginFieldType::kINT32, 2 * spatialDims),
        PluginField(kDilationsField, nullptr, PluginFieldType::kINT32, spatialDims),
        PluginField(kGroupField, nullptr, PluginFieldType::kINT32, 1),
        PluginField(kOffsetGroupField, nullptr, PluginFieldType::kINT32, 1),
    };
}

void writeDeformConvAttributes(DeformConvAttributes const& attributes, IntFieldWriter& writer)
{
    writer.clear();
    if (!attributes.kernelShape.empty())
    {
        writer.add(kKernelShapeField, attributes.kernelShape);
    }
    writer.add(kStridesField, attributes.strides);
    writer.add(kPadsField, attributes.pads);
    writer.add(kDilationsField, attributes.dilations);
    writer.add(kGroupField, {attributes.group});
    writer.add(kOffsetGroupField, {attributes.offsetGroup});
}

} // namespace trt
} // namespace comix
