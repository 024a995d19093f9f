// common/pluginLogging.cpp — see pluginLogging.h.
#include "common/pluginLogging.h"

#include <atomic>
#include <cstdio>
#include <cstring>

namespace comix {
namespace trt {
namespace {

std::atomic<nvinfer1::ILoggerFinder*> gLoggerFinder{nullptr};

nvinfer1::ILogger* findLogger() noexcept
{
    nvinfer1::ILoggerFinder* finder = gLoggerFinder.load();
    if (finder == nullptr)
    {
        return nullptr;
    }
    try
    {
        return finder->findLogger();
    }
    catch (...)
    {
        return nullptr;
    }
}

char const* severityName(nvinfer1::ILogger::Severity severity) noexcept
{
    switch (severity)
    {
    case nvinfer1::ILogger::Severity::kINTERNAL_ERROR: return "INTERNAL_ERROR";
    case nvinfer1::ILogger::Severity::kERROR: return "ERROR";
    case nvinfer1::ILogger::Severity::kWARNING: return "WARNING";
    case nvinfer1::ILogger::Severity::kINFO: return "INFO";
    case nvinfer1::ILogger::Severity::kVERBOSE: return "VERBOSE";
    }
    return "UNKNOWN";
}

} // namespace

void setLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept
{
#if COMIX_TRT_LOGGER_FINDER_VERSIONED
    if (finder != nullptr)
    {
        nvinfer1::InterfaceInfo const info = finder->getInterfaceInfo();
        if (info.kind == nullptr || std::strcmp(info.kind, "ILoggerFinder") != 0 || info.major != 1)
        {
            std::fprintf(stderr,
                         "[comix_trt_plugins] ERROR: setLoggerFinder: got interface '%s' %d.%d, "
                         "expected ILoggerFinder 1.x; logging to stderr\n",
                         info.kind ? info.kind : "(null)", static_cast<int>(info.major), static_cast<int>(info.minor));
            return;
        }
    }
#endif
    gLoggerFinder.store(finder);
}

void logMessage(nvinfer1::ILogger::Severity severity, std::string const& message) noexcept
{
    try
    {
        std::string const text = "[comix_trt_plugins] " + message;
        nvinfer1::ILogger* logger = findLogger();
        if (logger != nullptr)
        {
            logger->log(severity, text.c_str());
            return;
        }
        std::fprintf(stderr, "%s (stderr: no TensorRT logger): %s\n", severityName(severity), text.c_str());
    }
    catch (...)
    {
        std::fprintf(stderr, "[comix_trt_plugins] %s: (message lost: out of memory)\n", severityName(severity));
    }
}

void logException(char const* where, char const* what) noexcept
{
    try
    {
        logError(std::string(where) + ": " + (what != nullptr ? what : "unknown exception"));
    }
    catch (...)
    {
        std::fprintf(stderr, "[comix_trt_plugins] ERROR: exception in %s\n", where);
    }
}

} // namespace trt
} // namespace comix
