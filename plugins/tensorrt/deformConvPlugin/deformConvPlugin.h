// deformConvPlugin/deformConvPlugin.h — IPluginV3 plugin for ONNX DeformConv (2-D) and CoMiX DeformConv3D.
//
// One class serves both ops; `spatialDims` (2 or 3) picks the name, the ranks and the kernel entry.
// Inputs: X, W, offset, [B], [mask] (3 to 5 tensors; 4 = with bias, 5 = bias and mask; an ONNX node with
// a mask but no bias must carry a zero bias, see README). Output: Y. All tensors FP32 or all FP16,
// linear (NCHW / NCDHW). FP16 storage, FP32 accumulation. Every entry point is noexcept and catches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comix_dcn/layout.h"
#include "common/pluginFields.h"
#include "common/trtCompat.h"
#include "deformConvPlugin/deformConvAttributes.h"

namespace comix {
namespace trt {

char const* deformConvPluginName(int32_t spatialDims) noexcept;
extern char const* const kDeformConvPluginVersion;

class DeformConvPlugin : public nvinfer1::IPluginV3,
                         public nvinfer1::IPluginV3OneCore,
                         public nvinfer1::IPluginV3OneBuild,
                         public nvinfer1::IPluginV3OneRuntime
{
public:
    DeformConvPlugin(DeformConvAttributes attributes, std::string nameSpace, std::string layerName);
    ~DeformConvPlugin() override = default;

    DeformConvAttributes const& attributes() const noexcept
    {
        return mAttributes;
    }

    // IPluginV3
    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override;
    nvinfer1::IPluginV3* clone() noexcept override;

    // IPluginV3OneCore
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

    // IPluginV3OneBuild
    int32_t getNbOutputs() const noexcept override;
    int32_t getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs, nvinfer1::DataType const* inputTypes,
                               int32_t nbInputs) const noexcept override;
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const* shapeInputs,
                            int32_t nbShapeInputs, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override;
    bool supportsFormatCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
                                   int32_t nbOutputs) noexcept override;
    int32_t configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
                            nvinfer1::DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept override;
    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
                            nvinfer1::DynamicPluginTensorDesc const* outputs,
                            int32_t nbOutputs) const noexcept override;

    // IPluginV3OneRuntime
    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs, nvinfer1::PluginTensorDesc const* out,
                          int32_t nbOutputs) noexcept override;
    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
                    void const* const* inputs, void* const* outputs, void* workspace,
                    cudaStream_t stream) noexcept override;
    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* context) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override;

private:
    // Checks concrete input shapes against the attributes; fills the kernel shape and the call's sizes.
    // Returns "" on success, else a got/expected message.
    std::string checkShapes(nvinfer1::Dims const* inputDims, int32_t nbInputs, std::vector<int64_t>& kernel,
                            dcn::DeformConv2DShape& shape2d, dcn::DeformConv3DShape& shape3d) const;
    std::string checkInputCount(int32_t nbInputs, int32_t nbOutputs) const;
    std::string label() const;

    DeformConvAttributes mAttributes;
    std::string mNamespace;
    std::string mLayerName;
    IntFieldWriter mSerialized;

    // Set by onShapeChange, used by enqueue.
    std::vector<int64_t> mRuntimeKernel;
    dcn::DeformConv2DShape mShape2d{};
    dcn::DeformConv3DShape mShape3d{};
    bool mShapeReady{false};
};

} // namespace trt
} // namespace comix
