// comixPluginLibrary.cpp — entry points of libcomix_trt_plugins.so for TensorRT's plugin loader.
//
// TensorRT (IPluginRegistry::loadLibrary, trtexec --dynamicPlugins, or the lean/dispatch runtime with
// version-compatible engines) looks up exactly these two C symbols. Nothing else is exported, and the
// library does not link libnvinfer: TensorRT passes everything it needs through these calls.
#include <cstdint>
#include <exception>

#include "common/pluginLogging.h"
#include "common/trtCompat.h"
#include "deformConvPlugin/deformConvPluginCreator.h"

#define COMIX_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

COMIX_PLUGIN_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder)
{
    comix::trt::setLoggerFinder(finder);
}

COMIX_PLUGIN_EXPORT nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    nbCreators = 0;
    try
    {
        // Creators live as long as the library; old plugin versions are added here (never removed)
        // while engines built with them are in use.
        static comix::trt::DeformConvPluginCreator deformConv2d(2);
        static comix::trt::DeformConvPluginCreator deformConv3d(3);
        // the 2-D creator again under the name comix build gives DeformConv nodes for parsers < 10.15
        static comix::trt::DeformConvPluginCreator deformConv2dAlias(2, comix::trt::kDeformConv2dAliasName);
        static nvinfer1::IPluginCreatorInterface* const creators[] = {&deformConv2d, &deformConv3d, &deformConv2dAlias};
        nbCreators = static_cast<int32_t>(sizeof(creators) / sizeof(creators[0]));
        return creators;
    }
    catch (std::exception const& e)
    {
        comix::trt::logException("getCreators", e.what());
    }
    catch (...)
    {
        comix::trt::logException("getCreators", nullptr);
    }
    nbCreators = 0;
    return nullptr;
}
