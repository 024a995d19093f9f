// deformConvPlugin/deformConvPluginCreator.h — IPluginCreatorV3One for DeformConv (2-D) / DeformConv3D.
//
// createPlugin() validates every field (name, type, length, range; unknown and repeated names refused)
// and logs a got/expected message to TensorRT's logger before returning null on bad input. The same
// path recreates a plugin from the fields it serialized (phase kRUNTIME).
#pragma once

#include <string>
#include <vector>

#include "common/trtCompat.h"

namespace comix {
namespace trt {

class DeformConvPluginCreator : public nvinfer1::IPluginCreatorV3One
{
public:
    explicit DeformConvPluginCreator(int32_t spatialDims);
    ~DeformConvPluginCreator() override = default;

    nvinfer1::IPluginV3* createPlugin(
        char const* name, nvinfer1::PluginFieldCollection const* fc, nvinfer1::TensorRTPhase phase) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override;
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

private:
    int32_t mSpatialDims;
    std::string mNamespace;
    std::vector<nvinfer1::PluginField> mFieldNames;
    nvinfer1::PluginFieldCollection mFieldCollection{};
};

} // namespace trt
} // namespace comix
