// model.h — what an open model is, behind the opaque comix_model handle: the facts read at open
// (sizes, record) and a backend that runs it (ONNX Runtime on the CPU, TensorRT on a GPU).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "comix_infer.h"

namespace comix {
namespace capi {

// What comix_open read: sizes from the graph, the record's entries (comix.* keys; strings as they are,
// other values as JSON, as comix/metadata.py stores them) and the class names among them.
struct ModelFacts {
  comix_info info{};
  int fixed_batch = 0;  // 0 = any batch
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<std::string> class_names;
};

// Checked options of comix_open.
struct OpenOptions {
  int threads = 1;
  bool verify = false;
  int cuda_device = -1;  // -1 = CPU
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Sizes are checked by the caller (check_input); throws Error. Must allocate nothing once a shape
  // has been run before.
  virtual void run(const float* hsi, const float* x, int batch, int height, int width, float* logits) = 0;
};

}  // namespace capi
}  // namespace comix

// The handle. Calls on one handle are serialised by `mutex`.
struct comix_model {
  comix::capi::ModelFacts facts;
  std::unique_ptr<comix::capi::Backend> backend;
  std::mutex mutex;
  comix_watchdog_fn watchdog = nullptr;  // comix_set_watchdog: called after every finished tile
  void* watchdog_user = nullptr;
  long long tiles_done = 0;
};
