// ort_backend.cpp — session creation from the checked (and verified) bytes, and zero-copy runs.
//
// Open: the file is mapped, its structure walked (a truncated or corrupt file is refused in our words
// before ONNX Runtime sees it), its digests checked when asked, and the session built from those very
// bytes, so that what was verified is what runs. The pages are given back once the session exists.
// Run: the caller's arrays are wrapped as ORT tensors (CreateTensorWithDataAsOrtValue: no copy) and the
// output is bound to the caller's logits. The wrappers are kept while the caller passes the same arrays
// and sizes, so a steady loop over fixed buffers creates nothing at all; ONNX Runtime's own per-run
// allocations are counted by tests/capi (alloc_count.c) and reported in docs/flight.md.
#include "ort_backend.h"

#include <array>
#include <cstdint>
#include <vector>

#include "errors.h"
#include "mapped_file.h"
#include "model_digest.h"
#include "ort_api.h"
#include "record.h"

namespace comix {
namespace capi {
namespace {

constexpr const char* kNoRecordHint = "re-export it with this version or open it with verify = 0";

// Owns one ORT object and releases it with the matching Release* function.
template <typename T, void (*const OrtApi::*Release)(T*)>
struct Owned {
  T* get = nullptr;
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { reset(); }
  void reset() {
    if (get != nullptr) (ort().*Release)(get);
    get = nullptr;
  }
};

using SessionOptions = Owned<OrtSessionOptions, &OrtApi::ReleaseSessionOptions>;
using Session = Owned<OrtSession, &OrtApi::ReleaseSession>;
using MemoryInfo = Owned<OrtMemoryInfo, &OrtApi::ReleaseMemoryInfo>;
using Value = Owned<OrtValue, &OrtApi::ReleaseValue>;
using TypeInfo = Owned<OrtTypeInfo, &OrtApi::ReleaseTypeInfo>;
using Metadata = Owned<OrtModelMetadata, &OrtApi::ReleaseModelMetadata>;

// A string ORT allocated with the default allocator, copied and freed.
std::string take_string(char* text) {
  OrtAllocator* allocator = nullptr;
  check(ort().GetAllocatorWithDefaultOptions(&allocator), "ONNX Runtime allocator", false);
  std::string out = text ? text : "";
  if (text) check(ort().AllocatorFree(allocator, text), "ONNX Runtime allocator", false);
  return out;
}

struct TensorSpec {
  std::string name;
  std::vector<int64_t> dims;  // -1 for a symbolic size
};

TensorSpec tensor_spec(OrtSession* session, size_t index, bool input, const std::string& source) {
  const OrtApi& api = ort();
  OrtAllocator* allocator = nullptr;
  check(api.GetAllocatorWithDefaultOptions(&allocator), "ONNX Runtime allocator", false);
  char* name = nullptr;
  TypeInfo type;
  if (input) {
    check(api.SessionGetInputName(session, index, allocator, &name), source + ": reading input names");
    check(api.SessionGetInputTypeInfo(session, index, &type.get), source + ": reading input types");
  } else {
    check(api.SessionGetOutputName(session, index, allocator, &name), source + ": reading output names");
    check(api.SessionGetOutputTypeInfo(session, index, &type.get), source + ": reading output types");
  }
  TensorSpec spec;
  spec.name = take_string(name);
  const char* kind = input ? "input" : "output";
  const OrtTensorTypeAndShapeInfo* tensor = nullptr;
  check(api.CastTypeInfoToTensorInfo(type.get, &tensor), source + ": reading " + kind + " types");
  if (tensor == nullptr)
    bad_input(source + ": " + kind + " " + spec.name + ": got a non-tensor, expected a tensor");
  ONNXTensorElementDataType element = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  check(api.GetTensorElementType(tensor, &element), source + ": reading " + kind + " types");
  if (element != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    bad_input(source + ": " + kind + " " + spec.name + ": got element type " + std::to_string(element) +
              ", expected float32 (1): the C API feeds and returns float32");
  }
  size_t rank = 0;
  check(api.GetDimensionsCount(tensor, &rank), source + ": reading " + kind + " shapes");
  spec.dims.resize(rank);
  check(api.GetDimensions(tensor, spec.dims.data(), rank), source + ": reading " + kind + " shapes");
  if (rank != 4) {
    bad_input(source + ": " + kind + " " + spec.name + ": got rank " + std::to_string(rank) +
              ", expected 4 (batch, channels, height, width)");
  }
  return spec;
}

std::vector<std::pair<std::string, std::string>> read_metadata(OrtSession* session,
                                                               const std::string& source) {
  const OrtApi& api = ort();
  OrtAllocator* allocator = nullptr;
  check(api.GetAllocatorWithDefaultOptions(&allocator), "ONNX Runtime allocator", false);
  Metadata metadata;
  check(api.SessionGetModelMetadata(session, &metadata.get), source + ": reading the model record");
  char** keys = nullptr;
  int64_t count = 0;
  check(api.ModelMetadataGetCustomMetadataMapKeys(metadata.get, allocator, &keys, &count),
        source + ": reading the model record");
  std::vector<std::pair<std::string, std::string>> entries;
  std::string error;
  for (int64_t i = 0; i < count; ++i) {
    std::string key = take_string(keys[i]);
    char* value = nullptr;
    OrtStatus* status =
        api.ModelMetadataLookupCustomMetadataMap(metadata.get, allocator, key.c_str(), &value);
    if (status != nullptr && error.empty()) error = api.GetErrorMessage(status);
    if (status != nullptr) api.ReleaseStatus(status);
    entries.emplace_back(std::move(key), take_string(value));
  }
  if (keys != nullptr) check(api.AllocatorFree(allocator, keys), "ONNX Runtime allocator", false);
  if (!error.empty()) failed(source + ": reading the model record: ONNX Runtime says: " + error);
  return entries;
}

int fixed(int64_t dim) { return dim > 0 ? static_cast<int>(dim) : 0; }

class OrtBackend : public Backend {
 public:
  OrtBackend(const std::string& path, const OpenOptions& options, ModelFacts& facts) {
    const std::string source = base_name(path);
    MappedFile file(path, "model file");
    const std::string error = options.verify ? verify_digests(file.data(), file.size(), source, kNoRecordHint)
                                             : check_structure(file.data(), file.size(), source);
    if (!error.empty()) bad_input(error);

    const OrtApi& api = ort();
    SessionOptions session_options;
    check(api.CreateSessionOptions(&session_options.get), "ONNX Runtime session options", false);
    check(api.SetIntraOpNumThreads(session_options.get, options.threads), "ONNX Runtime threads", false);
    check(api.SetInterOpNumThreads(session_options.get, 1), "ONNX Runtime threads", false);
    check(api.SetSessionExecutionMode(session_options.get, ORT_SEQUENTIAL), "ONNX Runtime execution mode",
          false);
    check(api.SetSessionGraphOptimizationLevel(session_options.get, ORT_ENABLE_ALL),
          "ONNX Runtime optimisation", false);
    add_custom_ops(session_options.get);
    // No memory pattern: with it, ONNX Runtime allocates the planned block for the second run while the
    // arena still holds the first run's buffers, which raised the peak of comix_t from 95 to 113 MiB;
    // without it the arena reuses the first run's buffers (same logits, same speed within noise).
    check(api.DisableMemPattern(session_options.get), "ONNX Runtime memory pattern", false);
    check(api.CreateSessionFromArray(ort_env(), file.data(), file.size(), session_options.get, &session_.get),
          source + ": ONNX Runtime could not load the model");
    file.release();

    size_t inputs = 0, outputs = 0;
    check(api.SessionGetInputCount(session_.get, &inputs), source + ": reading inputs");
    check(api.SessionGetOutputCount(session_.get, &outputs), source + ": reading outputs");
    if (inputs != 2) {
      bad_input(source + ": got " + std::to_string(inputs) +
                " graph inputs, expected 2 (hsi (B, bands, H, W), x (B, C, H, W))");
    }
    if (outputs < 1) bad_input(source + ": got no graph output, expected logits (B, classes, H, W)");
    const TensorSpec hsi = tensor_spec(session_.get, 0, true, source);
    const TensorSpec x = tensor_spec(session_.get, 1, true, source);
    const TensorSpec out = tensor_spec(session_.get, 0, false, source);
    input_names_ = {hsi.name, x.name};
    output_name_ = out.name;
    names_in_[0] = input_names_[0].c_str();
    names_in_[1] = input_names_[1].c_str();
    name_out_ = output_name_.c_str();

    comix_info& info = facts.info;
    info.bands = fixed(hsi.dims[1]);
    info.x_channels = fixed(x.dims[1]);
    info.classes = fixed(out.dims[1]);
    if (info.bands == 0 || info.classes == 0 || x.dims[1] < 0) {
      bad_input(source + ": got symbolic channel counts (bands " + std::to_string(hsi.dims[1]) +
                ", X channels " + std::to_string(x.dims[1]) + ", classes " + std::to_string(out.dims[1]) +
                "), expected fixed ones as comix export writes");
    }
    info.tile_height = hsi.dims[2] > 0 && hsi.dims[3] > 0 ? fixed(hsi.dims[2]) : 0;
    info.tile_width = info.tile_height > 0 ? fixed(hsi.dims[3]) : 0;
    facts.fixed_batch = fixed(hsi.dims[0]);
    facts.metadata = read_metadata(session_.get, source);
    read_record(source, facts);
    check(api.CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &memory_.get),
          "ONNX Runtime memory info", false);
    bands_ = info.bands;
    x_channels_ = info.x_channels;
    classes_ = info.classes;
  }

  void run(const float* hsi, const float* x, int batch, int height, int width, float* logits) override {
    if (!bound(hsi, x, logits, batch, height, width)) bind(hsi, x, logits, batch, height, width);
    const OrtValue* inputs[2] = {hsi_.get, x_.get};
    OrtValue* outputs[1] = {logits_.get};
    check(ort().Run(session_.get, nullptr, names_in_, inputs, 2, &name_out_, 1, outputs), "comix_run");
  }

 private:
  bool bound(const float* hsi, const float* x, const float* logits, int batch, int height, int width) const {
    return hsi_.get != nullptr && hsi == bound_hsi_ && x == bound_x_ && logits == bound_logits_ &&
           batch == bound_shape_[0] && height == bound_shape_[1] && width == bound_shape_[2];
  }

  void wrap(const float* data, int64_t channels, int batch, int height, int width, Value& value) {
    value.reset();
    const int64_t shape[4] = {batch, channels, height, width};
    const size_t bytes = static_cast<size_t>(batch) * channels * height * width * sizeof(float);
    // ORT takes a non-const pointer for every tensor; inputs are only read.
    check(ort().CreateTensorWithDataAsOrtValue(memory_.get, const_cast<float*>(data), bytes, shape, 4,
                                               ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &value.get),
          "comix_run: wrapping the caller's array");
  }

  void bind(const float* hsi, const float* x, float* logits, int batch, int height, int width) {
    bound_hsi_ = nullptr;
    // x may be NULL only with 0 X channels: ORT still needs a (B, 0, H, W) tensor, which holds no data.
    static const float kNothing = 0.0f;
    wrap(hsi, bands_, batch, height, width, hsi_);
    wrap(x != nullptr ? x : &kNothing, x_channels_, batch, height, width, x_);
    wrap(logits, classes_, batch, height, width, logits_);
    bound_hsi_ = hsi;
    bound_x_ = x;
    bound_logits_ = logits;
    bound_shape_ = {batch, height, width};
  }

  Session session_;
  MemoryInfo memory_;
  std::array<std::string, 2> input_names_;
  std::string output_name_;
  const char* names_in_[2] = {nullptr, nullptr};
  const char* name_out_ = nullptr;
  int bands_ = 0, x_channels_ = 0, classes_ = 0;
  Value hsi_, x_, logits_;
  const float *bound_hsi_ = nullptr, *bound_x_ = nullptr, *bound_logits_ = nullptr;
  std::array<int, 3> bound_shape_{};
};

}  // namespace

std::unique_ptr<Backend> open_onnx(const std::string& path, const OpenOptions& options, ModelFacts& facts) {
  if (options.cuda_device >= 0) {
    bad_input(base_name(path) + ": got device cuda:" + std::to_string(options.cuda_device) +
              " for an .onnx model, expected cpu: this library runs ONNX models on the CPU; build a TensorRT "
              "engine (comix build) to run on a GPU");
  }
  return std::make_unique<OrtBackend>(path, options, facts);
}

}  // namespace capi
}  // namespace comix
