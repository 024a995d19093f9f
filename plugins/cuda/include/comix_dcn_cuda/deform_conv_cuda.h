// comix_dcn_cuda/deform_conv_cuda.h — host API of the CUDA modulated deformable convolution (2-D and 3-D).
//
// The only header the TensorRT plugin and the PyTorch extension include from plugins/cuda/. It names
// every size (no positional lists), reports the scratch memory a call needs, and launches the forward
// pass on a stream. The indexing and sampling math lives in the shared framework-free headers
// (plugins/include/comix_dcn/); this file and the .cu files are launch glue around it.
//
// Algorithm: deformable im2col into an FP32 column buffer (the scratch workspace), then a tiled
// shared-memory GEMM per (sample, group) with FP32 accumulation; bias added in the GEMM epilogue.
// Storage may be FP32 or FP16; accumulation is always FP32 (never half).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <cuda_runtime_api.h>

#include "comix_dcn/geometry.h"
#include "comix_dcn/layout.h"

namespace comix {
namespace dcn {
namespace cuda {

// Element type of every tensor of one call (input, weight, offset, bias, mask, output).
enum class Storage : int32_t { kFloat32 = 0, kFloat16 = 1 };

// Device pointers of one call, all contiguous (row-major, NC[D]HW). bias and mask may be null.
struct DeformConvTensors {
  const void* input = nullptr;
  const void* weight = nullptr;  // (O, C/group, *kernel)
  const void* offset = nullptr;  // (N, offset_group*K*nd, *out); channel = (g*K + k)*nd + axis
  const void* bias = nullptr;    // (O,) or null
  const void* mask = nullptr;    // (N, offset_group*K, *out) or null; channel = g*K + k
  void* output = nullptr;        // (N, O, *out)
};

// Default cap on the column buffer: samples are processed in chunks that fit this many bytes (a chunk
// holds at least one sample, so one sample's columns may exceed it).
constexpr size_t kDefaultColumnBudgetBytes = size_t{256} << 20;

// Shapes come from comix_dcn/validate.h (check_shapes), which checks every tensor against the geometry;
// forward() re-checks the output sizes and channel divisibility cheaply before launching.

// Bytes of the column buffer for one sample: (C*K) * (prod out) * sizeof(float).
size_t column_bytes_per_sample(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape);
size_t column_bytes_per_sample(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape);

// Scratch bytes forward() wants for this shape: min(batch, max(1 sample, budget)) worth of columns,
// i.e. min(batch * per_sample, max(per_sample, budget)); 0 when there is nothing to gather. Monotone in
// every size, so the value for a TensorRT profile's largest shape covers every smaller shape. forward()
// accepts any workspace of at least one sample's columns and picks its chunk (samples per pass) from
// the bytes it is given.
size_t workspace_size(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape,
                      size_t column_budget_bytes = kDefaultColumnBudgetBytes);
size_t workspace_size(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape,
                      size_t column_budget_bytes = kDefaultColumnBudgetBytes);

// Result of forward(): the CUDA status of the first failing call (cudaSuccess when all launched) and,
// for argument errors (status cudaErrorInvalidValue), a message with got/expected.
struct LaunchResult {
  cudaError_t status = cudaSuccess;
  std::string message;
  bool ok() const { return status == cudaSuccess; }
};

// Launch the forward pass on `stream`. Checks the problem, the pointers and the workspace size first;
// 64-bit indexing is chosen at run time when any tensor or the column chunk has 2^31 or more elements.
// Asynchronous: kernel execution errors surface on the stream; launch errors are returned.
LaunchResult forward(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape, Storage storage,
                     const DeformConvTensors& tensors, void* workspace, size_t workspace_bytes,
                     cudaStream_t stream);
LaunchResult forward(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape, Storage storage,
                     const DeformConvTensors& tensors, void* workspace, size_t workspace_bytes,
                     cudaStream_t stream);

}  // namespace cuda
}  // namespace dcn
}  // namespace comix
