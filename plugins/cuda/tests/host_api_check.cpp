// tests/host_api_check.cpp — host-side behaviour of plugins/cuda's API, runnable without a GPU.
//
// Built by tests/plugins/test_cuda_compile.py together with deform_conv_forward.cu (nvcc, cudart static)
// and run on the CPU machine. Prints one JSON object of observations; the test asserts on them:
// workspace monotonicity, argument errors with got/expected, the empty-batch path (no CUDA call), and —
// only where no CUDA device is usable — that a real launch reports the CUDA error instead of hiding it.
#include <cstdio>
#include <string>

#include "comix_dcn_cuda/deform_conv_cuda.h"

namespace {

using namespace comix::dcn;

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string result_json(const cuda::LaunchResult& r) {
  return std::string("{\"status\":") + std::to_string(static_cast<int>(r.status)) +
         ",\"message\":" + quoted(r.message) + "}";
}

DeformConv3DShape shape3d(int64_t batch, int64_t channels, int64_t depth) {
  DeformConv3DShape s;
  s.batch = batch;
  s.channels = channels;
  s.depth = depth;
  s.height = 8;
  s.width = 8;
  s.out_channels = 4;
  s.out_depth = depth;  // 1x1x1 kernel, stride 1, no padding
  s.out_height = 8;
  s.out_width = 8;
  return s;
}

}  // namespace

int main() {
  DeformConv3DGeometry g;  // 1x1x1 kernel, defaults
  // Budget 1000 bytes. A rule like "floor(budget / per_sample) samples" would give the shape with the
  // SMALLER samples more bytes (3 x 256 = 768) than the larger one (1 x 512): a TensorRT plugin that
  // reports the largest profile shape's workspace would then under-allocate for a smaller shape.
  const size_t budget = 1000;
  const DeformConv3DShape big = shape3d(4, 2, 1);           // 512 bytes of columns per sample
  const DeformConv3DShape small_sample = shape3d(4, 1, 1);  // 256 bytes per sample
  const DeformConv3DShape small_batch = shape3d(1, 2, 1);
  std::printf("{\"per_sample_big\":%zu,\"per_sample_small\":%zu", cuda::column_bytes_per_sample(g, big),
              cuda::column_bytes_per_sample(g, small_sample));
  std::printf(",\"ws_big\":%zu,\"ws_small_sample\":%zu,\"ws_small_batch\":%zu",
              cuda::workspace_size(g, big, budget), cuda::workspace_size(g, small_sample, budget),
              cuda::workspace_size(g, small_batch, budget));
  std::printf(",\"ws_big_default_budget\":%zu", cuda::workspace_size(g, big));
  const DeformConv3DShape& larger_sample = big;

  float dummy[4] = {0, 0, 0, 0};
  cuda::DeformConvTensors t;
  t.input = dummy;
  t.weight = dummy;
  t.offset = dummy;
  t.output = dummy;
  DeformConv3DShape empty = shape3d(0, 2, 1);
  std::printf(",\"empty_batch\":%s",
              result_json(cuda::forward(g, empty, cuda::Storage::kFloat32, t, nullptr, 0, nullptr)).c_str());
  std::printf(
      ",\"small_workspace\":%s",
      result_json(cuda::forward(g, larger_sample, cuda::Storage::kFloat32, t, dummy, 100, nullptr)).c_str());
  DeformConv3DShape with_bias = larger_sample;
  with_bias.has_bias = true;
  std::printf(
      ",\"bias_missing\":%s",
      result_json(cuda::forward(g, with_bias, cuda::Storage::kFloat32, t, dummy, 4096, nullptr)).c_str());
  DeformConv3DShape wrong_out = larger_sample;
  wrong_out.out_height = 7;
  std::printf(
      ",\"wrong_output_size\":%s",
      result_json(cuda::forward(g, wrong_out, cuda::Storage::kFloat32, t, dummy, 4096, nullptr)).c_str());
  std::printf(
      ",\"bad_storage\":%s",
      result_json(cuda::forward(g, larger_sample, static_cast<cuda::Storage>(7), t, dummy, 4096, nullptr))
          .c_str());

  int devices = 0;
  const cudaError_t device_status = cudaGetDeviceCount(&devices);
  std::printf(",\"device_status\":%d,\"devices\":%d", static_cast<int>(device_status), devices);
  if (device_status != cudaSuccess || devices == 0) {
    // No usable device: a launch must come back as an error, never as success.
    std::printf(",\"launch_without_device\":%s",
                result_json(cuda::forward(g, larger_sample, cuda::Storage::kFloat32, t, dummy, 4096, nullptr))
                    .c_str());
  }
  std::printf("}\n");
  return 0;
}
