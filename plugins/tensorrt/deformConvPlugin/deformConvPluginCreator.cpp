// deformConvPlugin/deformConvPluginCreator.cpp — see deformConvPluginCreator.h.
#include "deformConvPlugin/deformConvPluginCreator.h"

#include <exception>

#include "common/pluginLogging.h"
#include "deformConvPlugin/deformConvAttributes.h"
#include "deformConvPlugin/deformConvPlugin.h"

namespace comix {
namespace trt {

DeformConvPluginCreator::DeformConvPluginCreator(int32_t spatialDims, char const* creatorName)
    : mSpatialDims(spatialDims)
    , mCreatorName(creatorName != nullptr ? creatorName : deformConvPluginName(spatialDims))
    , mFieldNames(deformConvFieldNames(spatialDims))
{
    mFieldCollection.nbFields = static_cast<int32_t>(mFieldNames.size());
    mFieldCollection.fields = mFieldNames.data();
}

nvinfer1::IPluginV3* DeformConvPluginCreator::createPlugin(char const* name, nvinfer1::PluginFieldCollection const* fc,
                                                           nvinfer1::TensorRTPhase phase) noexcept
{
    try
    {
        std::string const layer = name != nullptr ? name : "(unnamed)";
        DeformConvAttributes attributes;
        std::string const error = parseDeformConvAttributes(mSpatialDims, fc, attributes);
        if (!error.empty())
        {
            logError(std::string(getPluginName()) + " v" + getPluginVersion() + " createPlugin('" + layer + "', "
                     + (phase == nvinfer1::TensorRTPhase::kBUILD ? "build" : "runtime") + "): " + error);
            return nullptr;
        }
        return new DeformConvPlugin(std::move(attributes), mNamespace, layer);
    }
    catch (std::exception const& e)
    {
        logException("DeformConvPluginCreator::createPlugin", e.what());
    }
    catch (...)
    {
        logException("DeformConvPluginCreator::createPlugin", nullptr);
    }
    return nullptr;
}

nvinfer1::PluginFieldCollection const* DeformConvPluginCreator::getFieldNames() noexcept
{
    return &mFieldCollection;
}

char const* DeformConvPluginCreator::getPluginName() const noexcept
{
    return mCreatorName;
}

char const* DeformConvPluginCreator::getPluginVersion() const noexcept
{
    return kDeformConvPluginVersion;
}

char const* DeformConvPluginCreator::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

} // namespace trt
} // namespace comix
