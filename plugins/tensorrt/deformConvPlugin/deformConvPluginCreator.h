// deformConvPlugin/deformConvPluginCreator.h — IPluginCreatorV3One for DeformConv (2-D) / DeformConv3D.
//
// createPlugin() validates every field (name, type, length, range; unknown and repeated names refused)
// and logs a got/expected message to TensorRT's logger before returning null on bad input. The same
// path recreates a plugin from the fields it serialized (phase kRUNTIME).
//
// The 2-D creator is also registered under a second name, kDeformConv2dAliasName: TensorRT's ONNX parser
// before 10.15 always imports an ONNX DeformConv node with TensorRT's own plugin, so `comix build`
// renames those nodes to the alias, which reaches this creator through the parser's plugin fallback. The
// plugins it creates are the ordinary DeformConv v1 plugins (an engine records "DeformConv" and is
// deserialized by the primary creator).
#pragma once

#include <string>
#include <vector>

#include "common/trtCompat.h"

namespace comix {
namespace trt {

constexpr char const* kDeformConv2dAliasName = "DeformConv2D";

class DeformConvPluginCreator : public nvinfer1::IPluginCreatorV3One
{
public:
    //! creatorName: the name this creator registers under (default: the plugin's own name).
    explicit DeformConvPluginCreator(int32_t spatialDims, char const* creatorName = nullptr);
    ~DeformConvPluginCreator() override = default;

    nvinfer1::IPluginV3* createPlugin(char const* name, nvinfer1::PluginFieldCollection const* fc,
                                      nvinfer1::TensorRTPhase phase) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override;
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

private:
    int32_t mSpatialDims;
    char const* mCreatorName;
    std::string mNamespace;
    std::vector<nvinfer1::PluginField> mFieldNames;
    nvinfer1::PluginFieldCollection mFieldCollection{};
};

} // namespace trt
} // namespace comix
