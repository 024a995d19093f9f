// trt_backend.cpp — deserialize, bind, enqueue; device buffers kept between runs of a shape.
//
// The caller's arrays are host memory: a run copies the inputs to device buffers, enqueues, and copies
// the logits back (stream-ordered, then synchronised). Device buffers grow on the first run of a larger
// shape and are reused after, so later runs of a shape allocate nothing, on the host or the device.
// Our plugin creators come from libcomix_trt_plugins.so (linked, found beside this library through
// RUNPATH $ORIGIN) and are registered in the runtime's registry before deserialization.
#include "trt_backend.h"

#include <NvInferRuntime.h>
#include <NvInferVersion.h>
#include <cuda_runtime_api.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <vector>

#include "errors.h"
#include "json_text.h"
#include "mapped_file.h"
#include "record.h"
#include "sha256.h"

// Exported by libcomix_trt_plugins.so (plugins/tensorrt/comixPluginLibrary.cpp).
extern "C" nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators);

namespace comix {
namespace capi {
namespace {

constexpr const char* kEngineKind = "comix.tensorrt.engine";  // comix/tensorrt/engine_record.py

// Forwards warnings and errors to stderr and keeps the last error for our messages.
class Logger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override {
    if (severity > Severity::kWARNING || message == nullptr) return;
    std::fprintf(stderr, "comix_infer: TensorRT: %s\n", message);
    if (severity <= Severity::kERROR) {
      try {
        std::lock_guard<std::mutex> lock(mutex_);
        last_error_ = message;
      } catch (...) {
      }
    }
  }
  std::string last_error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_error_.empty() ? "no message" : last_error_;
  }

 private:
  std::mutex mutex_;
  std::string last_error_;
};

Logger& logger() {
  static Logger* instance = new Logger();  // outlives every runtime (never destroyed)
  return *instance;
}

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) failed(std::string(what) + ": CUDA says: " + cudaGetErrorString(status));
}

std::string hex_prefix(const std::string& hex) { return hex.substr(0, 8) + "…"; }

// (engine facts member, model record as comix.* props) from <engine>.json.
struct EngineRecord {
  std::string engine_sha256;
  std::vector<std::pair<std::string, std::string>> props;
};

EngineRecord read_engine_record(const std::string& path, const std::string& source) {
  const std::string record_path = path + ".json";
  MappedFile file(record_path, "engine record");
  const std::string text(reinterpret_cast<const char*>(file.data()), file.size());
  const std::string where = base_name(record_path);
  std::string kind, engine, model, value;
  bool found = false;
  std::string error = json::member(text, "kind", kind, found);
  if (error.empty() && found) error = json::string_value(kind, value);
  if (!error.empty() || !found || value != kEngineKind) {
    bad_input(where + ": got " + (error.empty() ? "kind '" + value + "'" : error) +
              ", expected the record `comix build` " + "writes beside " + source + " (kind " + kEngineKind +
              ")");
  }
  EngineRecord record;
  error = json::member(text, "engine", engine, found);
  std::string digest;
  if (error.empty() && found) error = json::member(engine, "engine_sha256", digest, found);
  if (error.empty() && found) error = json::string_value(digest, record.engine_sha256);
  if (!error.empty()) bad_input(where + ": engine: " + error);
  error = json::member(text, "model", model, found);
  std::vector<std::pair<std::string, std::string>> members;
  if (error.empty() && found) error = json::members(model, members);
  if (!error.empty() || !found)
    bad_input(where + ": got no readable model record (" + error + "), expected one");
  for (auto& member : members) {
    // the ONNX form of the record (comix/metadata.py): strings as they are, everything else as JSON
    std::string decoded;
    const bool is_string = !member.second.empty() && member.second[0] == '"';
    if (is_string && !json::string_value(member.second, decoded).empty()) decoded = member.second;
    record.props.emplace_back("comix." + member.first, is_string ? decoded : member.second);
  }
  return record;
}

template <typename T>
struct Deleter {
  void operator()(T* object) const { delete object; }
};
template <typename T>
using Owned = std::unique_ptr<T, Deleter<T>>;

class TrtBackend : public Backend {
 public:
  TrtBackend(const std::string& path, const OpenOptions& options, ModelFacts& facts) {
    const std::string source = base_name(path);
    if (options.cuda_device < 0) {
      bad_input(source + ": got device cpu for a TensorRT engine, expected cuda:N (an engine runs on a GPU)");
    }
    EngineRecord record = read_engine_record(path, source);
    MappedFile file(path, "engine file");
    if (options.verify) {
      if (record.engine_sha256.empty()) {
        bad_input(source + ": has no recorded digest (engine.engine_sha256 in " + source +
                  ".json): rebuild it with comix build or open it with verify = 0");
      }
      Sha256 hash;
      hash.update(file.data(), file.size());
      const std::string got = hash.hex();
      if (got != record.engine_sha256) {
        bad_input(source + ": the engine does not match the digest recorded when it was built (got sha256 " +
                  hex_prefix(got) + ", recorded " + hex_prefix(record.engine_sha256) +
                  "): the file was corrupted or modified");
      }
    }
    int devices = 0;
    check_cuda(cudaGetDeviceCount(&devices), "counting GPUs");
    if (options.cuda_device >= devices) {
      bad_input(source + ": got device cuda:" + std::to_string(options.cuda_device) +
                ", expected cuda:0 to cuda:" + std::to_string(devices - 1) + " (" + std::to_string(devices) +
                " GPUs)");
    }
    device_ = options.cuda_device;
    check_cuda(cudaSetDevice(device_), "selecting the GPU");
    runtime_.reset(nvinfer1::createInferRuntime(logger()));
    if (!runtime_) failed("TensorRT: could not create a runtime: " + logger().last_error());
    register_plugins();
    engine_.reset(runtime_->deserializeCudaEngine(file.data(), file.size()));
    if (!engine_) {
      bad_input(source + ": TensorRT could not deserialize the engine (" + logger().last_error() +
                "): built for another TensorRT, GPU or plugin library?");
    }
    file.release();
    context_.reset(engine_->createExecutionContext());
    if (!context_)
      failed(source + ": TensorRT could not create an execution context: " + logger().last_error());
    read_io(source, facts);
    facts.metadata = std::move(record.props);
    read_record(source, facts);
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a CUDA stream");
  }

  ~TrtBackend() override {
    cudaSetDevice(device_);
    for (Buffer& b : buffers_) cudaFree(b.device);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    context_.reset();
    engine_.reset();
    runtime_.reset();
  }

  void run(const float* hsi, const float* x, int batch, int height, int width, float* logits) override {
    check_cuda(cudaSetDevice(device_), "comix_run: selecting the GPU");
    const int64_t pixels = static_cast<int64_t>(batch) * height * width;
    const float* host_in[2] = {hsi, x};
    const int64_t channels[3] = {bands_, x_channels_, classes_};
    for (int i = 0; i < 3; ++i)
      reserve(buffers_[i], static_cast<size_t>(pixels * channels[i]) * sizeof(float));
    if (batch != shape_[0] || height != shape_[1] || width != shape_[2]) {
      for (int i = 0; i < 2; ++i) {
        nvinfer1::Dims dims;
        dims.nbDims = 4;
        dims.d[0] = batch;
        dims.d[1] = channels[i];
        dims.d[2] = height;
        dims.d[3] = width;
        if (!context_->setInputShape(names_[i].c_str(), dims)) {
          shape_[0] = -1;
          bad_input("comix_run: got batch " + std::to_string(batch) + ", " + std::to_string(height) + "x" +
                    std::to_string(width) + ", expected a size inside the engine's optimisation profile (" +
                    logger().last_error() + ")");
        }
      }
      for (int i = 0; i < 3; ++i) context_->setTensorAddress(names_[i].c_str(), buffers_[i].device);
      shape_ = {batch, height, width};
    }
    for (int i = 0; i < 2; ++i) {
      if (channels[i] == 0) continue;
      check_cuda(cudaMemcpyAsync(buffers_[i].device, host_in[i],
                                 static_cast<size_t>(pixels * channels[i]) * sizeof(float),
                                 cudaMemcpyHostToDevice, stream_),
                 "comix_run: copying the inputs to the GPU");
    }
    if (!context_->enqueueV3(stream_))
      failed("comix_run: TensorRT could not run the engine: " + logger().last_error());
    check_cuda(
        cudaMemcpyAsync(logits, buffers_[2].device, static_cast<size_t>(pixels * classes_) * sizeof(float),
                        cudaMemcpyDeviceToHost, stream_),
        "comix_run: copying the logits from the GPU");
    check_cuda(cudaStreamSynchronize(stream_), "comix_run: running the engine");
  }

 private:
  struct Buffer {
    void* device = nullptr;
    size_t bytes = 0;
  };

  void reserve(Buffer& buffer, size_t bytes) {
    if (bytes <= buffer.bytes) return;
    check_cuda(cudaFree(buffer.device), "comix_run: freeing a GPU buffer");
    buffer.device = nullptr;
    buffer.bytes = 0;
    check_cuda(cudaMalloc(&buffer.device, bytes), "comix_run: allocating GPU memory");
    buffer.bytes = bytes;
    shape_[0] = -1;  // addresses changed: bind again
  }

  void register_plugins() {
    int32_t count = 0;
    nvinfer1::IPluginCreatorInterface* const* creators = getCreators(count);
    if (creators == nullptr || count <= 0)
      failed("TensorRT plugins: got no creators from libcomix_trt_plugins");
    static std::once_flag once;  // the registry is the process's: register once
    bool ok = true;
    std::call_once(once, [&] {
      for (int32_t i = 0; i < count; ++i)
        ok = runtime_->getPluginRegistry().registerCreator(*creators[i], "") && ok;
    });
    if (!ok) failed("TensorRT plugins: the registry refused a creator: " + logger().last_error());
  }

  void read_io(const std::string& source, ModelFacts& facts) {
    const int32_t count = engine_->getNbIOTensors();
    std::vector<std::string> inputs, outputs;
    for (int32_t i = 0; i < count; ++i) {
      const char* name = engine_->getIOTensorName(i);
      (engine_->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT ? inputs : outputs)
          .emplace_back(name);
      if (engine_->getTensorDataType(name) != nvinfer1::DataType::kFLOAT) {
        bad_input(source + ": tensor " + name +
                  ": got a non-float32 type, expected float32 I/O (the C API's)");
      }
    }
    if (inputs.size() != 2 || outputs.size() != 1) {
      bad_input(source + ": got " + std::to_string(inputs.size()) + " inputs and " +
                std::to_string(outputs.size()) + " outputs, expected 2 (hsi, x) and 1 (logits)");
    }
    names_ = {inputs[0], inputs[1], outputs[0]};
    const nvinfer1::Dims hsi = engine_->getTensorShape(names_[0].c_str());
    const nvinfer1::Dims x = engine_->getTensorShape(names_[1].c_str());
    const nvinfer1::Dims out = engine_->getTensorShape(names_[2].c_str());
    if (hsi.nbDims != 4 || x.nbDims != 4 || out.nbDims != 4 || hsi.d[1] < 1 || x.d[1] < 0 || out.d[1] < 1) {
      bad_input(source + ": got I/O ranks " + std::to_string(hsi.nbDims) + ", " + std::to_string(x.nbDims) +
                ", " + std::to_string(out.nbDims) +
                " or symbolic channels, expected (B, C, H, W) with fixed C");
    }
    comix_info& info = facts.info;
    info.bands = bands_ = static_cast<int>(hsi.d[1]);
    info.x_channels = x_channels_ = static_cast<int>(x.d[1]);
    info.classes = classes_ = static_cast<int>(out.d[1]);
    const bool fixed_tile = hsi.d[2] > 0 && hsi.d[3] > 0;
    info.tile_height = fixed_tile ? static_cast<int>(hsi.d[2]) : 0;
    info.tile_width = fixed_tile ? static_cast<int>(hsi.d[3]) : 0;
    facts.fixed_batch = hsi.d[0] > 0 ? static_cast<int>(hsi.d[0]) : 0;
  }

  int device_ = 0;
  Owned<nvinfer1::IRuntime> runtime_;
  Owned<nvinfer1::ICudaEngine> engine_;
  Owned<nvinfer1::IExecutionContext> context_;
  cudaStream_t stream_ = nullptr;
  std::vector<std::string> names_;
  Buffer buffers_[3];
  std::array<int, 3> shape_{-1, -1, -1};
  int bands_ = 0, x_channels_ = 0, classes_ = 0;
};

}  // namespace

std::unique_ptr<Backend> open_engine(const std::string& path, const OpenOptions& options, ModelFacts& facts) {
  return std::make_unique<TrtBackend>(path, options, facts);
}

std::string trt_description() {
  const int32_t v = getInferLibVersion();  // e.g. 100300 for 10.3.0 (major * 10000 + minor * 100 + patch)
  return "TensorRT " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100) + " (headers " + std::to_string(NV_TENSORRT_MAJOR) + "." +
         std::to_string(NV_TENSORRT_MINOR) + ")";
}

}  // namespace capi
}  // namespace comix
