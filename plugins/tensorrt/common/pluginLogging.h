// common/pluginLogging.h — messages from the plugin library to TensorRT's logger.
//
// TensorRT hands the library an ILoggerFinder through setLoggerFinder(); every message goes to the
// logger it finds, or to stderr when the library was loaded without one (e.g. dlopen in a test).
// Never throws.
#pragma once

#include <string>

#include "common/trtCompat.h"

namespace comix {
namespace trt {

void setLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept;

void logMessage(nvinfer1::ILogger::Severity severity, std::string const& message) noexcept;
inline void logError(std::string const& message) noexcept
{
    logMessage(nvinfer1::ILogger::Severity::kERROR, message);
}
inline void logWarning(std::string const& message) noexcept
{
    logMessage(nvinfer1::ILogger::Severity::kWARNING, message);
}

// For catch blocks at entry points: "<where>: <what>".
void logException(char const* where, char const* what) noexcept;

} // namespace trt
} // namespace comix
