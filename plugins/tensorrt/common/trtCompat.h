// common/trtCompat.h — the TensorRT headers this library compiles against, and the version switches.
//
// Supported header sets: TensorRT 10.3 (JetPack 6), 10.13 (JetPack 7 / Thor) and 11.x (data center).
// API differences that matter here (read from the headers, see README.md):
//  * 10.13+ moved PluginField / IPluginV3 / IPluginCreatorInterface into NvInferPluginBase.h (included
//    by NvInferRuntime.h in every version, so nothing to do beyond including NvInferRuntime.h).
//  * 11.x: ILoggerFinder derives from IVersionedInterface (its vtable starts with getInterfaceInfo), so a
//    library built against 10.x headers must not be loaded by TensorRT 11 and vice versa; we check the
//    interface kind on 11.x before trusting the pointer.
//  * The IPluginV3One* interfaces are identical in 10.3, 10.13 and 11.1 (only parameter names differ).
#pragma once

#include <NvInferRuntime.h>
#include <NvInferVersion.h>

#define COMIX_TRT_VERSION_AT_LEAST(major, minor)                                                                       \
    (NV_TENSORRT_MAJOR > (major) || (NV_TENSORRT_MAJOR == (major) && NV_TENSORRT_MINOR >= (minor)))

#if !COMIX_TRT_VERSION_AT_LEAST(10, 3)
#error "CoMiX TensorRT plugins need TensorRT >= 10.3 headers (IPluginV3 / IPluginCreatorV3One)"
#endif

// 11.x: ILoggerFinder is an IVersionedInterface.
#define COMIX_TRT_LOGGER_FINDER_VERSIONED (NV_TENSORRT_MAJOR >= 11)
