// common/pluginFields.h — checked reading of integer attributes from a PluginFieldCollection.
//
// TensorRT's ONNX parser hands INT/INTS node attributes to plugin creators as kINT32 fields; kINT64
// is accepted too (hand-built collections, Python). Every check returns a message with got/expected
// instead of throwing, so creators can log it and refuse the plugin.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/trtCompat.h"

namespace comix {
namespace trt {

// What one integer attribute must look like.
struct IntFieldSpec
{
    char const* name;
    int32_t length;  // exact number of values
    int64_t minimum; // inclusive
    int64_t maximum; // inclusive
};

// Reads `field` against `spec` into `values`. Returns "" on success, else a message naming the field.
std::string readIntField(nvinfer1::PluginField const& field, IntFieldSpec const& spec, std::vector<int64_t>& values);

char const* fieldTypeName(nvinfer1::PluginFieldType type) noexcept;

// Owns the int32 storage behind the PluginFields it hands out (the pointers stay valid until the next
// call to clear() or the object dies).
class IntFieldWriter
{
public:
    void clear();
    void add(char const* name, std::vector<int64_t> const& values);
    nvinfer1::PluginFieldCollection const* collection();

private:
    std::vector<std::vector<int32_t>> mStorage;
    std::vector<nvinfer1::PluginField> mFields;
    nvinfer1::PluginFieldCollection mCollection{};
};

} // namespace trt
} // namespace comix
