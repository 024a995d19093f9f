// deformConvPlugin/deformConvPlugin.cpp — see deformConvPlugin.h.
#include "deformConvPlugin/deformConvPlugin.h"

#include <exception>
#include <new>

#include "comix_dcn/validate.h"
#include "comix_dcn_cuda/deform_conv_cuda.h"
#include "common/pluginLogging.h"

namespace comix {
namespace trt {

char const* const kDeformConvPluginVersion = "1";

char const* deformConvPluginName(int32_t spatialDims) noexcept
{
    return spatialDims == 3 ? "DeformConv3D" : "DeformConv";
}

namespace {

constexpr int32_t kMinInputs = 3; // X, W, offset
constexpr int32_t kMaxInputs = 5; // + B, mask
constexpr int32_t kBiasInput = 3;
constexpr int32_t kMaskInput = 4;

dcn::Dims toVector(nvinfer1::Dims const& dims)
{
    dcn::Dims out;
    for (int32_t i = 0; i < dims.nbDims; ++i)
    {
        out.push_back(dims.d[i]);
    }
    return out;
}

bool isSupportedType(nvinfer1::DataType type)
{
    return type == nvinfer1::DataType::kFLOAT || type == nvinfer1::DataType::kHALF;
}

} // namespace

DeformConvPlugin::DeformConvPlugin(DeformConvAttributes attributes, std::string nameSpace, std::string layerName)
    : mAttributes(std::move(attributes))
    , mNamespace(std::move(nameSpace))
    , mLayerName(std::move(layerName))
{}

std::string DeformConvPlugin::label() const
{
    return std::string(deformConvPluginName(mAttributes.spatialDims)) + " plugin '" + mLayerName + "'";
}

nvinfer1::IPluginCapability* DeformConvPlugin::getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept
{
    try
    {
        switch (type)
        {
        case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
        case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
        case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
        }
        logError(label() + ": getCapabilityInterface: got type " + std::to_string(static_cast<int32_t>(type))
                 + ", expected kCORE, kBUILD or kRUNTIME");
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::getCapabilityInterface", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::getCapabilityInterface", nullptr);
    }
    return nullptr;
}

nvinfer1::IPluginV3* DeformConvPlugin::clone() noexcept
{
    try
    {
        auto* copy = new DeformConvPlugin(mAttributes, mNamespace, mLayerName);
        copy->mRuntimeKernel = mRuntimeKernel;
        copy->mShape2d = mShape2d;
        copy->mShape3d = mShape3d;
        copy->mShapeReady = mShapeReady;
        return copy;
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::clone", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::clone", nullptr);
    }
    return nullptr;
}

char const* DeformConvPlugin::getPluginName() const noexcept
{
    return deformConvPluginName(mAttributes.spatialDims);
}

char const* DeformConvPlugin::getPluginVersion() const noexcept
{
    return kDeformConvPluginVersion;
}

char const* DeformConvPlugin::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

int32_t DeformConvPlugin::getNbOutputs() const noexcept
{
    return 1;
}

std::string DeformConvPlugin::checkInputCount(int32_t nbInputs, int32_t nbOutputs) const
{
    if (nbInputs < kMinInputs || nbInputs > kMaxInputs)
    {
        return label() + ": inputs: got " + std::to_string(nbInputs) + ", expected 3 to 5 (X, W, offset, [B], [mask])";
    }
    if (nbOutputs != 1)
    {
        return label() + ": outputs: got " + std::to_string(nbOutputs) + ", expected 1";
    }
    return "";
}

int32_t DeformConvPlugin::getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs,
                                             nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    try
    {
        std::string const error = checkInputCount(nbInputs, nbOutputs);
        if (!error.empty())
        {
            logError(error);
            return -1;
        }
        if (!isSupportedType(inputTypes[0]))
        {
            logError(label() + ": input X type: got DataType " + std::to_string(static_cast<int32_t>(inputTypes[0]))
                     + ", expected kFLOAT or kHALF");
            return -1;
        }
        outputTypes[0] = inputTypes[0];
        return 0;
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::getOutputDataTypes", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::getOutputDataTypes", nullptr);
    }
    return -1;
}

int32_t DeformConvPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
                                          nvinfer1::DimsExprs const* /*shapeInputs*/, int32_t /*nbShapeInputs*/,
                                          nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                                          nvinfer1::IExprBuilder& exprBuilder) noexcept
{
    try
    {
        std::string const error = checkInputCount(nbInputs, nbOutputs);
        if (!error.empty())
        {
            logError(error);
            return -1;
        }
        int32_t const nd = mAttributes.spatialDims;
        int32_t const rank = nd + 2;
        if (inputs[0].nbDims != rank || inputs[1].nbDims != rank)
        {
            logError(label() + ": X / W rank: got " + std::to_string(inputs[0].nbDims) + " / "
                     + std::to_string(inputs[1].nbDims) + ", expected " + std::to_string(rank));
            return -1;
        }
        using Op = nvinfer1::DimensionOperation;
        outputs[0].nbDims = rank;
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = inputs[1].d[0];
        for (int32_t a = 0; a < nd; ++a)
        {
            auto const sa = static_cast<size_t>(a);
            // Kernel size: the attribute when given (W is checked against it later), else W's extent.
            nvinfer1::IDimensionExpr const* kernel = mAttributes.kernelShape.empty()
                                                         ? inputs[1].d[2 + a]
                                                         : exprBuilder.constant(mAttributes.kernelShape[sa]);
            int64_t const padSum = mAttributes.pads[sa] + mAttributes.pads[sa + static_cast<size_t>(nd)];
            // out = floor((in + pads - span) / stride) + 1 with span = dilation*(kernel-1) + 1 (the dilated
            // kernel extent); only non-negative constants are handed to the builder.
            auto const* span = exprBuilder.operation(
                Op::kSUM,
                *exprBuilder.operation(Op::kPROD, *exprBuilder.operation(Op::kSUB, *kernel, *exprBuilder.constant(1)),
                                       *exprBuilder.constant(mAttributes.dilations[sa])),
                *exprBuilder.constant(1));
            auto const* numerator = exprBuilder.operation(
                Op::kSUB, *exprBuilder.operation(Op::kSUM, *inputs[0].d[2 + a], *exprBuilder.constant(padSum)), *span);
            outputs[0].d[2 + a] = exprBuilder.operation(
                Op::kSUM,
                *exprBuilder.operation(Op::kFLOOR_DIV, *numerator, *exprBuilder.constant(mAttributes.strides[sa])),
                *exprBuilder.constant(1));
        }
        return 0;
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::getOutputShapes", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::getOutputShapes", nullptr);
    }
    return -1;
}

bool DeformConvPlugin::supportsFormatCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut,
                                                 int32_t nbInputs, int32_t nbOutputs) noexcept
{
    try
    {
        if (pos < 0 || pos >= nbInputs + nbOutputs)
        {
            logError(label() + ": supportsFormatCombination: got pos " + std::to_string(pos) + ", expected 0.."
                     + std::to_string(nbInputs + nbOutputs - 1));
            return false;
        }
        nvinfer1::PluginTensorDesc const& desc = inOut[pos].desc;
        if (desc.format != nvinfer1::TensorFormat::kLINEAR)
        {
            return false;
        }
        if (pos == 0)
        {
            return isSupportedType(desc.type);
        }
        return desc.type == inOut[0].desc.type;
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::supportsFormatCombination", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::supportsFormatCombination", nullptr);
    }
    return false;
}

std::string DeformConvPlugin::checkShapes(nvinfer1::Dims const* inputDims, int32_t nbInputs,
                                          std::vector<int64_t>& kernel, dcn::DeformConv2DShape& shape2d,
                                          dcn::DeformConv3DShape& shape3d) const
{
    int32_t const nd = mAttributes.spatialDims;
    dcn::Dims const x = toVector(inputDims[0]);
    dcn::Dims const w = toVector(inputDims[1]);
    dcn::Dims const offset = toVector(inputDims[2]);
    dcn::Dims bias;
    dcn::Dims mask;
    if (nbInputs > kBiasInput)
    {
        bias = toVector(inputDims[kBiasInput]);
    }
    if (nbInputs > kMaskInput)
    {
        mask = toVector(inputDims[kMaskInput]);
    }
    if (w.size() != static_cast<size_t>(nd + 2))
    {
        return label() + ": input W: got shape " + dcn::dims_to_string(w) + ", expected rank " + std::to_string(nd + 2)
               + " (O, C/group, *kernel)";
    }
    kernel = mAttributes.kernelShape.empty() ? dcn::Dims(w.begin() + 2, w.end()) : mAttributes.kernelShape;
    std::string const op = label();
    if (nd == 2)
    {
        return dcn::check_shapes(op.c_str(), mAttributes.geometry2d(kernel), x, w, offset,
                                 nbInputs > kBiasInput ? &bias : nullptr, nbInputs > kMaskInput ? &mask : nullptr,
                                 shape2d);
    }
    return dcn::check_shapes(op.c_str(), mAttributes.geometry3d(kernel), x, w, offset,
                             nbInputs > kBiasInput ? &bias : nullptr, nbInputs > kMaskInput ? &mask : nullptr, shape3d);
}

int32_t DeformConvPlugin::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
                                          nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    try
    {
        std::string error = checkInputCount(nbInputs, nbOutputs);
        if (error.empty())
        {
            // Build-time shapes may hold -1; the largest profile shape is concrete: check that one.
            std::vector<nvinfer1::Dims> maxDims;
            for (int32_t i = 0; i < nbInputs; ++i)
            {
                maxDims.push_back(in[i].max);
            }
            std::vector<int64_t> kernel;
            dcn::DeformConv2DShape s2{};
            dcn::DeformConv3DShape s3{};
            error = checkShapes(maxDims.data(), nbInputs, kernel, s2, s3);
            if (error.empty() && mAttributes.kernelShape.empty())
            {
                mAttributes.kernelShape = kernel; // resolved from W, serialized with the engine
            }
        }
        if (!error.empty())
        {
            logError(error + " (largest profile shape)");
            return -1;
        }
        return 0;
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::configurePlugin", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::configurePlugin", nullptr);
    }
    return -1;
}

size_t DeformConvPlugin::getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
                                          nvinfer1::DynamicPluginTensorDesc const* /*outputs*/,
                                          int32_t nbOutputs) const noexcept
{
    try
    {
        std::string error = checkInputCount(nbInputs, nbOutputs);
        std::vector<int64_t> kernel;
        dcn::DeformConv2DShape s2{};
        dcn::DeformConv3DShape s3{};
        if (error.empty())
        {
            std::vector<nvinfer1::Dims> maxDims;
            for (int32_t i = 0; i < nbInputs; ++i)
            {
                maxDims.push_back(inputs[i].max);
            }
            error = checkShapes(maxDims.data(), nbInputs, kernel, s2, s3);
        }
        if (!error.empty())
        {
            logError(error + " (workspace for the largest profile shape)");
            return 0;
        }
        // forward() runs any smaller shape within the workspace of the largest one (it picks its chunk
        // from the bytes it is given).
        return mAttributes.spatialDims == 2 ? dcn::cuda::workspace_size(mAttributes.geometry2d(kernel), s2)
                                            : dcn::cuda::workspace_size(mAttributes.geometry3d(kernel), s3);
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::getWorkspaceSize", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::getWorkspaceSize", nullptr);
    }
    return 0;
}

int32_t DeformConvPlugin::onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs,
                                        nvinfer1::PluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    try
    {
        mShapeReady = false;
        std::string error = checkInputCount(nbInputs, nbOutputs);
        if (error.empty())
        {
            std::vector<nvinfer1::Dims> dims;
            for (int32_t i = 0; i < nbInputs; ++i)
            {
                dims.push_back(in[i].dims);
            }
            error = checkShapes(dims.data(), nbInputs, mRuntimeKernel, mShape2d, mShape3d);
        }
        if (error.empty() && !isSupportedType(in[0].type))
        {
            error = label() + ": input X type: got DataType " + std::to_string(static_cast<int32_t>(in[0].type))
                    + ", expected kFLOAT or kHALF";
        }
        if (!error.empty())
        {
            logError(error);
            return -1;
        }
        mShapeReady = true;
        return 0;
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::onShapeChange", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::onShapeChange", nullptr);
    }
    return -1;
}

int32_t DeformConvPlugin::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
                                  nvinfer1::PluginTensorDesc const* /*outputDesc*/, void const* const* inputs,
                                  void* const* outputs, void* workspace, cudaStream_t stream) noexcept
{
    try
    {
        if (!mShapeReady)
        {
            logError(label() + ": enqueue: got no successful onShapeChange before it, expected shapes checked first");
            return -1;
        }
        bool const hasBias = mAttributes.spatialDims == 2 ? mShape2d.has_bias : mShape3d.has_bias;
        bool const hasMask = mAttributes.spatialDims == 2 ? mShape2d.has_mask : mShape3d.has_mask;
        dcn::cuda::DeformConvTensors tensors;
        tensors.input = inputs[0];
        tensors.weight = inputs[1];
        tensors.offset = inputs[2];
        tensors.bias = hasBias ? inputs[kBiasInput] : nullptr;
        tensors.mask = hasMask ? inputs[kMaskInput] : nullptr;
        tensors.output = outputs[0];
        dcn::cuda::Storage const storage = inputDesc[0].type == nvinfer1::DataType::kHALF
                                               ? dcn::cuda::Storage::kFloat16
                                               : dcn::cuda::Storage::kFloat32;
        size_t const workspaceBytes = mAttributes.spatialDims == 2
                                          ? dcn::cuda::workspace_size(mAttributes.geometry2d(mRuntimeKernel), mShape2d)
                                          : dcn::cuda::workspace_size(mAttributes.geometry3d(mRuntimeKernel), mShape3d);
        dcn::cuda::LaunchResult const result =
            mAttributes.spatialDims == 2 ? dcn::cuda::forward(mAttributes.geometry2d(mRuntimeKernel), mShape2d, storage,
                                                              tensors, workspace, workspaceBytes, stream)
                                         : dcn::cuda::forward(mAttributes.geometry3d(mRuntimeKernel), mShape3d, storage,
                                                              tensors, workspace, workspaceBytes, stream);
        if (!result.ok())
        {
            logError(label() + ": enqueue: " + result.message);
            return -1;
        }
        return 0;
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::enqueue", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::enqueue", nullptr);
    }
    return -1;
}

nvinfer1::IPluginV3* DeformConvPlugin::attachToContext(nvinfer1::IPluginResourceContext* /*context*/) noexcept
{
    return clone(); // no per-context resources (no cuBLAS handle, no persistent buffers)
}

nvinfer1::PluginFieldCollection const* DeformConvPlugin::getFieldsToSerialize() noexcept
{
    try
    {
        writeDeformConvAttributes(mAttributes, mSerialized);
        return mSerialized.collection();
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPlugin::getFieldsToSerialize", e.what());
    }
    catch (...)
    {
        logException("DeformConvPlugin::getFieldsToSerialize", nullptr);
    }
    return nullptr;
}

} // namespace trt
} // namespace comix
