// api.cpp — the exported C functions of the model handle: argument checks, then the work, inside the
// catch-all of entry.h (the stream functions are in stream_api.cpp). Nothing thrown below crosses this file.
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "comix_infer.h"
#include "entry.h"
#include "errors.h"
#include "mapped_file.h"
#include "model.h"
#include "model_digest.h"
#include "ort_api.h"
#include "ort_backend.h"
#include "record.h"
#if defined(COMIX_CAPI_TENSORRT)
#include "trt_backend.h"
#endif

#ifndef COMIX_CAPI_VERSION
#define COMIX_CAPI_VERSION "0.0.0"
#endif

namespace comix {
namespace capi {
namespace {

constexpr int kMaxThreads = 1024;
constexpr const char* kVerifyHint = "re-export it with this version, or skip the check";

// "cpu" / NULL -> -1, "cuda:N" -> N.
int parse_device(const char* device) {
  if (device == nullptr || std::strcmp(device, "cpu") == 0) return -1;
  if (std::strncmp(device, "cuda:", 5) == 0 && device[5] != '\0') {
    long value = 0;
    const char* p = device + 5;
    for (; *p >= '0' && *p <= '9' && value < 1000000; ++p) value = value * 10 + (*p - '0');
    if (*p == '\0') return static_cast<int>(value);
  }
  bad_input(std::string("comix_open: options.device: got '") + device +
            "', expected NULL, \"cpu\" or \"cuda:N\"");
}

OpenOptions parse_options(const comix_options* options) {
  OpenOptions parsed;
  if (options == nullptr) return parsed;
  if (options->threads < 0 || options->threads > kMaxThreads) {
    bad_input("comix_open: options.threads: got " + std::to_string(options->threads) + ", expected 0 to " +
              std::to_string(kMaxThreads) + " (0 = 1)");
  }
  if (options->verify != 0 && options->verify != 1) {
    bad_input("comix_open: options.verify: got " + std::to_string(options->verify) + ", expected 0 or 1");
  }
  parsed.threads = options->threads == 0 ? 1 : options->threads;
  parsed.verify = options->verify == 1;
  parsed.cuda_device = parse_device(options->device);
  return parsed;
}

bool ends_with(const std::string& text, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return text.size() >= n && text.compare(text.size() - n, n, suffix) == 0;
}

std::string size_text(int batch, int height, int width) {
  return "batch " + std::to_string(batch) + ", " + std::to_string(height) + "x" + std::to_string(width);
}

// Sizes the model takes; throws Error(COMIX_BAD_INPUT) naming the first that differs.
void check_sizes(const ModelFacts& facts, int batch, int height, int width) {
  const comix_info& info = facts.info;
  if (batch < 1 || height < 1 || width < 1) {
    bad_input("comix_run: got " + size_text(batch, height, width) +
              ", expected batch, height and width >= 1");
  }
  if (facts.fixed_batch > 0 && batch != facts.fixed_batch) {
    bad_input("comix_run: got batch " + std::to_string(batch) + ", expected " +
              std::to_string(facts.fixed_batch) + " (the model's fixed batch)");
  }
  if (info.tile_height > 0 && (height != info.tile_height || width != info.tile_width)) {
    bad_input("comix_run: got a " + std::to_string(height) + "x" + std::to_string(width) +
              " tile, expected " + std::to_string(info.tile_height) + "x" + std::to_string(info.tile_width) +
              " (the model's fixed tile)");
  }
  // The largest array, (batch, channels, H, W) floats, must stay well inside the address space.
  constexpr long long kLimit = 1LL << 40;
  long long elements = info.bands > info.classes ? info.bands : info.classes;
  for (const long long factor :
       {static_cast<long long>(batch), static_cast<long long>(height), static_cast<long long>(width)}) {
    if (elements > kLimit / factor) {
      bad_input("comix_run: got " + size_text(batch, height, width) +
                ", expected arrays of at most 2^40 floats");
    }
    elements *= factor;
  }
}

void copy_out(const std::string& text, const char* what, char* buffer, std::size_t size) {
  if (text.size() + 1 > size) {
    if (size > 0) buffer[0] = '\0';
    bad_input(std::string(what) + ": got a buffer of " + std::to_string(size) + " bytes, expected at least " +
              std::to_string(text.size() + 1));
  }
  std::memcpy(buffer, text.c_str(), text.size() + 1);
}

std::string version_string() {
  std::string text =
      std::string("comix_infer " COMIX_CAPI_VERSION " (abi ") + std::to_string(COMIX_ABI_VERSION);
  try {
    text += ", onnxruntime " + std::string(ort_version());
  } catch (...) {
    text += ", onnxruntime unavailable";
  }
#if defined(COMIX_CAPI_TENSORRT)
  text += ", " + trt_description();
#else
  text += ", without TensorRT";
#endif
  return text + ")";
}

}  // namespace
}  // namespace capi
}  // namespace comix

using namespace comix::capi;

int comix_abi_version(void) { return COMIX_ABI_VERSION; }

const char* comix_version_string(void) {
  static char text[256] = "";
  static std::once_flag once;
  try {
    std::call_once(once, [] { std::snprintf(text, sizeof(text), "%s", version_string().c_str()); });
  } catch (...) {
    return "comix_infer " COMIX_CAPI_VERSION;
  }
  return text;
}

const char* comix_last_error(void) { return t_last_error; }

int comix_open(const char* path, const comix_options* options, comix_model** model) {
  if (model != nullptr) *model = nullptr;
  return guarded("comix_open", [&] {
    require(model, "comix_open", "model", "a comix_model* to receive the handle");
    require(path, "comix_open", "path", "the path of an .onnx or .engine file");
    const OpenOptions parsed = parse_options(options);
    auto handle = std::make_unique<comix_model>();
    const std::string file(path);
    if (ends_with(file, ".engine")) {
#if defined(COMIX_CAPI_TENSORRT)
      handle->backend = open_engine(file, parsed, handle->facts);
#else
      bad_input(base_name(file) + ": got a TensorRT engine, expected an .onnx model: this library was built "
                "without TensorRT (comix plugins build --tensorrt-root DIR builds it with)");
#endif
    } else {
      handle->backend = open_onnx(file, parsed, handle->facts);
    }
    *model = handle.release();
  });
}

int comix_get_info(const comix_model* model, comix_info* info) {
  return guarded("comix_get_info", [&] {
    require(model, "comix_get_info", "model", "a handle from comix_open");
    require(info, "comix_get_info", "info", "a comix_info to fill");
    *info = model->facts.info;
  });
}

int comix_check_input(const comix_model* model, int bands, int x_channels, int batch, int height, int width) {
  return guarded("comix_check_input", [&] {
    require(model, "comix_check_input", "model", "a handle from comix_open");
    const comix_info& info = model->facts.info;
    if (bands != info.bands) {
      bad_input("comix_check_input: got " + std::to_string(bands) + " HSI bands, expected " +
                std::to_string(info.bands) + " (the model's HSI input)");
    }
    if (x_channels != info.x_channels) {
      bad_input("comix_check_input: got " + std::to_string(x_channels) + " X channels, expected " +
                std::to_string(info.x_channels) + " (the model's X input)");
    }
    check_sizes(model->facts, batch, height, width);
  });
}

int comix_run(comix_model* model, const float* hsi, const float* x, int batch, int height, int width,
              float* logits) {
  return guarded("comix_run", [&] {
    require(model, "comix_run", "model", "a handle from comix_open");
    require(hsi, "comix_run", "hsi", "a (batch, bands, height, width) float array");
    if (model->facts.info.x_channels > 0)
      require(x, "comix_run", "x", "a (batch, x_channels, height, width) float array");
    require(logits, "comix_run", "logits", "a (batch, classes, height, width) float array to write");
    check_sizes(model->facts, batch, height, width);
    std::lock_guard<std::mutex> lock(model->mutex);
    model->backend->run(hsi, x, batch, height, width, logits);
    for (int tile = 0; tile < batch; ++tile) {
      ++model->tiles_done;
      if (model->watchdog != nullptr) model->watchdog(model->watchdog_user, model->tiles_done);
    }
  });
}

int comix_set_watchdog(comix_model* model, comix_watchdog_fn watchdog, void* user_data) {
  return guarded("comix_set_watchdog", [&] {
    require(model, "comix_set_watchdog", "model", "a handle from comix_open");
    std::lock_guard<std::mutex> lock(model->mutex);
    model->watchdog = watchdog;
    model->watchdog_user = user_data;
  });
}

int comix_get_class_name(const comix_model* model, int index, char* buffer, size_t size) {
  return guarded("comix_get_class_name", [&] {
    require(model, "comix_get_class_name", "model", "a handle from comix_open");
    require(buffer, "comix_get_class_name", "buffer", "a buffer to copy the name into");
    const ModelFacts& facts = model->facts;
    if (index < 0 || index >= facts.info.classes) {
      if (size > 0) buffer[0] = '\0';
      bad_input("comix_get_class_name: got index " + std::to_string(index) + ", expected 0 to " +
                std::to_string(facts.info.classes - 1));
    }
    const std::string empty;
    const std::size_t i = static_cast<std::size_t>(index);
    copy_out(i < facts.class_names.size() ? facts.class_names[i] : empty, "comix_get_class_name", buffer,
             size);
  });
}

int comix_get_metadata(const comix_model* model, const char* key, char* buffer, size_t size) {
  return guarded("comix_get_metadata", [&] {
    require(model, "comix_get_metadata", "model", "a handle from comix_open");
    require(key, "comix_get_metadata", "key", "a record key such as \"comix.model_name\"");
    require(buffer, "comix_get_metadata", "buffer", "a buffer to copy the value into");
    for (const auto& entry : model->facts.metadata) {
      if (entry.first == key) {
        copy_out(entry.second, "comix_get_metadata", buffer, size);
        return;
      }
    }
    if (size > 0) buffer[0] = '\0';
    bad_input(std::string("comix_get_metadata: got key '") + key + "', expected one of the model's " +
              std::to_string(model->facts.metadata.size()) + " record keys");
  });
}

int comix_model_digests(const char* path, comix_digests* computed, comix_digests* recorded) {
  return guarded("comix_model_digests", [&] {
    require(path, "comix_model_digests", "path", "the path of an .onnx file");
    require(computed, "comix_model_digests", "computed", "a comix_digests to fill");
    MappedFile file(path, "model file");
    const std::string source = base_name(path);
    Digests got, stored;
    std::string error = compute_digests(file.data(), file.size(), source, got);
    if (error.empty() && recorded != nullptr)
      error = recorded_digests(file.data(), file.size(), source, stored);
    if (!error.empty()) bad_input(error);
    copy_truncated(got.weights, computed->weights, sizeof(computed->weights));
    copy_truncated(got.graph, computed->graph, sizeof(computed->graph));
    if (recorded != nullptr) {
      copy_truncated(stored.weights, recorded->weights, sizeof(recorded->weights));
      copy_truncated(stored.graph, recorded->graph, sizeof(recorded->graph));
    }
  });
}

int comix_verify_file(const char* path) {
  return guarded("comix_verify_file", [&] {
    require(path, "comix_verify_file", "path", "the path of an .onnx file");
    MappedFile file(path, "model file");
    const std::string error = verify_digests(file.data(), file.size(), base_name(path), kVerifyHint);
    if (!error.empty()) bad_input(error);
  });
}

void comix_close(comix_model* model) {
  // A backend's destructor releases runtime objects; nothing it throws may escape.
  try {
    delete model;
  } catch (...) {
  }
}
