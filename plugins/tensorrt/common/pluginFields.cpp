// common/pluginFields.cpp — see pluginFields.h.
#include "common/pluginFields.h"

#include <limits>

namespace comix {
namespace trt {

char const* fieldTypeName(nvinfer1::PluginFieldType type) noexcept
{
    switch (type)
    {
    case nvinfer1::PluginFieldType::kFLOAT16: return "FLOAT16";
    case nvinfer1::PluginFieldType::kFLOAT32: return "FLOAT32";
    case nvinfer1::PluginFieldType::kFLOAT64: return "FLOAT64";
    case nvinfer1::PluginFieldType::kINT8: return "INT8";
    case nvinfer1::PluginFieldType::kINT16: return "INT16";
    case nvinfer1::PluginFieldType::kINT32: return "INT32";
    case nvinfer1::PluginFieldType::kCHAR: return "CHAR";
    case nvinfer1::PluginFieldType::kDIMS: return "DIMS";
    case nvinfer1::PluginFieldType::kUNKNOWN: return "UNKNOWN";
    case nvinfer1::PluginFieldType::kBF16: return "BF16";
    case nvinfer1::PluginFieldType::kINT64: return "INT64";
    case nvinfer1::PluginFieldType::kFP8: return "FP8";
    case nvinfer1::PluginFieldType::kINT4: return "INT4";
#if COMIX_TRT_VERSION_AT_LEAST(10, 8)
    case nvinfer1::PluginFieldType::kFP4: return "FP4";
#endif
    }
    return "(unlisted type)";
}

std::string readIntField(nvinfer1::PluginField const& field, IntFieldSpec const& spec, std::vector<int64_t>& values)
{
    std::string const name = spec.name;
    bool const is32 = field.type == nvinfer1::PluginFieldType::kINT32;
    bool const is64 = field.type == nvinfer1::PluginFieldType::kINT64;
    if (!is32 && !is64)
    {
        return "attribute '" + name + "': got type " + fieldTypeName(field.type) + ", expected INT32 or INT64";
    }
    if (field.length != spec.length)
    {
        return "attribute '" + name + "': got " + std::to_string(field.length) + " values, expected "
               + std::to_string(spec.length);
    }
    if (field.data == nullptr)
    {
        return "attribute '" + name + "': got a null data pointer, expected " + std::to_string(spec.length) + " values";
    }
    values.assign(static_cast<size_t>(spec.length), 0);
    for (int32_t i = 0; i < spec.length; ++i)
    {
        int64_t const value = is32 ? static_cast<int64_t>(static_cast<int32_t const*>(field.data)[i])
                                   : static_cast<int64_t const*>(field.data)[i];
        if (value < spec.minimum || value > spec.maximum)
        {
            return "attribute '" + name + "'[" + std::to_string(i) + "]: got " + std::to_string(value)
                   + ", expected a value in [" + std::to_string(spec.minimum) + ", " + std::to_string(spec.maximum)
                   + "]";
        }
        values[static_cast<size_t>(i)] = value;
    }
    return "";
}

void IntFieldWriter::clear()
{
    mStorage.clear();
    mFields.clear();
    mCollection = nvinfer1::PluginFieldCollection{};
}

void IntFieldWriter::add(char const* name, std::vector<int64_t> const& values)
{
    std::vector<int32_t> stored;
    stored.reserve(values.size());
    for (int64_t value : values)
    {
        // Attribute ranges are checked on creation and all lie well inside int32.
        stored.push_back(static_cast<int32_t>(value));
    }
    mStorage.push_back(std::move(stored));
    // mFields is rebuilt in collection(): mStorage may reallocate while fields are added.
    mFields.emplace_back(name, nullptr, nvinfer1::PluginFieldType::kINT32, static_cast<int32_t>(values.size()));
}

nvinfer1::PluginFieldCollection const* IntFieldWriter::collection()
{
    for (size_t i = 0; i < mFields.size(); ++i)
    {
        mFields[i].data = mStorage[i].data();
    }
    mCollection.nbFields = static_cast<int32_t>(mFields.size());
    mCollection.fields = mFields.data();
    return &mCollection;
}

} // namespace trt
} // namespace comix
