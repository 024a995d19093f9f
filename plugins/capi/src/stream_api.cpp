// stream_api.cpp — the exported comix_stream_* functions: argument checks, the stream's lock, then the
// engine (line_stream.cpp), inside the catch-all of entry.h.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "comix_infer.h"
#include "entry.h"
#include "errors.h"
#include "line_stream.h"
#include "model.h"

// The handle: the engine and the lock that serialises calls on it.
struct comix_stream {
  comix_stream(comix_model& model, const comix::capi::StreamConfig& config) : engine(model, config) {}
  comix::capi::LineStream engine;
  mutable std::mutex mutex;
};

using namespace comix::capi;

namespace {

constexpr const char* kHandle = "a stream from comix_stream_open";

void refuse_if_failed(const LineStream& engine, const char* function) {
  if (engine.failed()) {
    failed(std::string(function) + ": the stream failed earlier (" + engine.failure() +
           "), expected comix_stream_reset or comix_stream_close first");
  }
}

}  // namespace

int comix_stream_open(comix_model* model, int width, const comix_stream_options* options,
                      comix_stream** stream) {
  if (stream != nullptr) *stream = nullptr;
  return guarded("comix_stream_open", [&] {
    require(stream, "comix_stream_open", "stream", "a comix_stream* to receive the stream");
    require(model, "comix_stream_open", "model", "a handle from comix_open");
    const StreamConfig config = resolve_stream(model->facts, width, options);
    *stream = std::make_unique<comix_stream>(*model, config).release();
  });
}

int comix_stream_push(comix_stream* stream, const float* line, size_t floats) {
  return guarded("comix_stream_push", [&] {
    require(stream, "comix_stream_push", "stream", kHandle);
    require(line, "comix_stream_push", "line", "(bands + x_channels) x width float samples");
    std::lock_guard<std::mutex> lock(stream->mutex);
    LineStream& engine = stream->engine;
    const StreamConfig& config = engine.config();
    refuse_if_failed(engine, "comix_stream_push");
    if (engine.finished()) {
      bad_input(
          "comix_stream_push: got a line after comix_stream_finish, expected comix_stream_reset first "
          "to start a new pass");
    }
    if (floats != config.line_floats()) {
      bad_input("comix_stream_push: got a line of " + std::to_string(floats) + " floats, expected " +
                std::to_string(config.line_floats()) + " ((" + std::to_string(config.bands) + " bands + " +
                std::to_string(config.x_channels) + " X channels) x " + std::to_string(config.width) +
                " pixels)");
    }
    if (engine.waiting() >= engine.max_waiting()) {
      bad_input(
          "comix_stream_push: got a line while " + std::to_string(engine.waiting()) +
          " finished lines wait, expected comix_stream_pop to take them first (a stream keeps at most " +
          std::to_string(engine.max_waiting()) + " waiting while lines come in)");
    }
    try {
      engine.push(line);
    } catch (const Error& error) {
      throw Error(error.code(), std::string("comix_stream_push: ") + error.what());
    }
  });
}

int comix_stream_pop(comix_stream* stream, unsigned char* classes, size_t size, int* lines) {
  if (lines != nullptr) *lines = 0;
  return guarded("comix_stream_pop", [&] {
    require(stream, "comix_stream_pop", "stream", kHandle);
    require(classes, "comix_stream_pop", "classes", "a buffer for finished lines (width bytes each)");
    require(lines, "comix_stream_pop", "lines", "an int to receive the number of lines copied");
    std::lock_guard<std::mutex> lock(stream->mutex);
    const std::size_t width = static_cast<std::size_t>(stream->engine.config().width);
    if (size < width) {
      bad_input("comix_stream_pop: got a buffer of " + std::to_string(size) + " bytes, expected at least " +
                std::to_string(width) + " (one line of uint8 labels)");
    }
    const std::size_t fits = size / width;
    *lines = stream->engine.pop(classes, fits > 1000000 ? 1000000 : static_cast<int>(fits));
  });
}

int comix_stream_finish(comix_stream* stream) {
  return guarded("comix_stream_finish", [&] {
    require(stream, "comix_stream_finish", "stream", kHandle);
    std::lock_guard<std::mutex> lock(stream->mutex);
    refuse_if_failed(stream->engine, "comix_stream_finish");
    try {
      stream->engine.finish();
    } catch (const Error& error) {
      throw Error(error.code(), std::string("comix_stream_finish: ") + error.what());
    }
  });
}

int comix_stream_reset(comix_stream* stream) {
  return guarded("comix_stream_reset", [&] {
    require(stream, "comix_stream_reset", "stream", kHandle);
    std::lock_guard<std::mutex> lock(stream->mutex);
    stream->engine.reset();
  });
}

int comix_stream_get_stats(const comix_stream* stream, comix_stream_stats* stats) {
  return guarded("comix_stream_get_stats", [&] {
    require(stream, "comix_stream_get_stats", "stream", kHandle);
    require(stats, "comix_stream_get_stats", "stats", "a comix_stream_stats to fill");
    std::lock_guard<std::mutex> lock(stream->mutex);
    stream->engine.stats(*stats);
  });
}

void comix_stream_close(comix_stream* stream) {
  try {
    delete stream;
  } catch (...) {
  }
}
