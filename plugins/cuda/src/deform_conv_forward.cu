// deform_conv_forward.cu — host side of the CUDA DCN forward: checks, workspace, chunking, dispatch.
//
// Per chunk of samples: deformable im2col into the FP32 workspace, then the grouped tiled GEMM with
// bias. Dispatch: storage type (float / __half) x index type (int32_t, or int64_t when any tensor or
// the chunk's columns come within kInt32IndexHeadroom of 2^31 elements: comix_dcn/layout.h,
// needs_64bit_index). Every CUDA status is checked and returned.
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "comix_dcn/comix_dcn.h"
#include "comix_dcn_cuda/deform_conv_cuda.h"
#include "deform_im2col.cuh"
#include "tiled_gemm.cuh"

namespace comix {
namespace dcn {
namespace cuda {
namespace {

constexpr int kIm2colThreads = 256;
constexpr int64_t kMaxIm2colBlocks = int64_t{1} << 20;  // grid-stride beyond this
constexpr int64_t kMaxGridZ = 65535;

// Dimension-generic view used by the host glue (in_d/out_d = 1 in 2-D).
struct Extent {
  int64_t batch, channels, out_channels;
  int64_t in_d, in_h, in_w, out_d, out_h, out_w;
  int64_t group, offset_group, kernel_points;
  bool has_bias, has_mask;
  int64_t in_plane() const { return in_d * in_h * in_w; }
  int64_t out_plane() const { return out_d * out_h * out_w; }
};

Extent extent_of(const DeformConv2DGeometry& g, const DeformConv2DShape& s) {
  return Extent{s.batch,    s.channels,   s.out_channels, 1,       s.height,       s.width,
                1,          s.out_height, s.out_width,    g.group, g.offset_group, g.kernel_points(),
                s.has_bias, s.has_mask};
}

Extent extent_of(const DeformConv3DGeometry& g, const DeformConv3DShape& s) {
  return Extent{s.batch,        s.channels,        s.out_channels, s.depth,     s.height,
                s.width,        s.out_depth,       s.out_height,   s.out_width, g.group,
                g.offset_group, g.kernel_points(), s.has_bias,     s.has_mask};
}

std::string check_extent(const char* op, const Extent& e, int64_t expected_out_d, int64_t expected_out_h,
                         int64_t expected_out_w) {
  const std::string pre = std::string(op) + ": ";
  if (e.batch < 0 || e.channels < 0 || e.out_channels < 0 || e.in_d < 0 || e.in_h < 0 || e.in_w < 0) {
    return pre + "got a negative size, expected sizes >= 0";
  }
  if (e.group < 1 || e.offset_group < 1 || e.kernel_points < 1) {
    return pre + "group/offset_group/kernel points: got " + std::to_string(e.group) + "/" +
           std::to_string(e.offset_group) + "/" + std::to_string(e.kernel_points) + ", expected >= 1";
  }
  if (e.channels % e.group != 0 || e.out_channels % e.group != 0 || e.channels % e.offset_group != 0) {
    return pre + "channels C=" + std::to_string(e.channels) + ", O=" + std::to_string(e.out_channels) +
           ": expected C and O multiples of group " + std::to_string(e.group) +
           " and C a multiple of offset_group " + std::to_string(e.offset_group);
  }
  if (e.out_d != expected_out_d || e.out_h != expected_out_h || e.out_w != expected_out_w) {
    return pre + "output size: got (" + std::to_string(e.out_d) + ", " + std::to_string(e.out_h) + ", " +
           std::to_string(e.out_w) + "), expected (" + std::to_string(expected_out_d) + ", " +
           std::to_string(expected_out_h) + ", " + std::to_string(expected_out_w) + ") from the geometry";
  }
  return "";
}

std::string check_problem(const DeformConv2DGeometry& g, const Extent& e) {
  return check_extent(
      "DeformConv (CUDA)", e, 1,
      conv_output_size(e.in_h, g.kernel_h, g.stride_h, g.pad_h_begin, g.pad_h_end, g.dilation_h),
      conv_output_size(e.in_w, g.kernel_w, g.stride_w, g.pad_w_begin, g.pad_w_end, g.dilation_w));
}

std::string check_problem(const DeformConv3DGeometry& g, const Extent& e) {
  return check_extent(
      "DeformConv3D (CUDA)", e,
      conv_output_size(e.in_d, g.kernel_d, g.stride_d, g.pad_d_begin, g.pad_d_end, g.dilation_d),
      conv_output_size(e.in_h, g.kernel_h, g.stride_h, g.pad_h_begin, g.pad_h_end, g.dilation_h),
      conv_output_size(e.in_w, g.kernel_w, g.stride_w, g.pad_w_begin, g.pad_w_end, g.dilation_w));
}

size_t column_bytes(const Extent& e) {
  return static_cast<size_t>(e.channels) * static_cast<size_t>(e.kernel_points) *
         static_cast<size_t>(e.out_plane()) * sizeof(float);
}

size_t workspace_bytes_for(const Extent& e, size_t budget) {
  const size_t per_sample = column_bytes(e);
  if (per_sample == 0 || e.batch == 0 || e.out_channels == 0) return 0;
  // min(all samples, max(one sample, budget)): monotone in every size, so the workspace reported for
  // the largest shape of a TensorRT profile covers every smaller shape.
  return std::min<size_t>(static_cast<size_t>(e.batch) * per_sample, std::max<size_t>(per_sample, budget));
}

LaunchResult error_result(cudaError_t status, std::string message) {
  LaunchResult r;
  r.status = status;
  r.message = std::move(message);
  return r;
}

LaunchResult cuda_result(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return LaunchResult{};
  return error_result(
      status, std::string(what) + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

template <typename Geometry, typename scalar_t, typename index_t>
LaunchResult launch_im2col(const Geometry& geometry, const Im2colSizes<index_t>& sizes,
                           const DeformConvTensors& t, float* columns, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(sizes.chunk) * sizes.offset_group * sizes.kernel_points *
                        sizes.out_d * sizes.out_h * sizes.out_w;
  if (total == 0) return LaunchResult{};
  const int64_t blocks = std::min<int64_t>((total + kIm2colThreads - 1) / kIm2colThreads, kMaxIm2colBlocks);
  const auto* input = static_cast<const scalar_t*>(t.input);
  const auto* offset = static_cast<const scalar_t*>(t.offset);
  const auto* mask = static_cast<const scalar_t*>(t.mask);
  if constexpr (Geometry::kSpatialDims == 2) {
    deform_im2col_2d_kernel<scalar_t, index_t><<<static_cast<unsigned>(blocks), kIm2colThreads, 0, stream>>>(
        geometry, sizes, input, offset, mask, columns);
  } else {
    deform_im2col_3d_kernel<scalar_t, index_t><<<static_cast<unsigned>(blocks), kIm2colThreads, 0, stream>>>(
        geometry, sizes, input, offset, mask, columns);
  }
  return cuda_result(cudaGetLastError(), "deform_im2col launch");
}

template <typename scalar_t, typename index_t>
LaunchResult launch_gemm(const GemmSizes<index_t>& sizes, const DeformConvTensors& t, const float* columns,
                         cudaStream_t stream) {
  const int64_t batches = static_cast<int64_t>(sizes.chunk) * sizes.group;
  if (batches == 0 || sizes.out_per_group == 0 || sizes.positions == 0) return LaunchResult{};
  const int64_t grid_x = (static_cast<int64_t>(sizes.positions) + kGemmTileN - 1) / kGemmTileN;
  const int64_t grid_y = (static_cast<int64_t>(sizes.out_per_group) + kGemmTileM - 1) / kGemmTileM;
  if (grid_x > std::numeric_limits<int32_t>::max() || grid_y > 65535) {
    return error_result(cudaErrorInvalidValue,
                        "grouped GEMM: got grid (" + std::to_string(grid_x) + ", " + std::to_string(grid_y) +
                            "), expected x < 2^31 and y <= 65535 (too many output channels "
                            "per group)");
  }
  const dim3 grid(static_cast<unsigned>(grid_x), static_cast<unsigned>(grid_y),
                  static_cast<unsigned>(std::min<int64_t>(batches, kMaxGridZ)));
  grouped_gemm_kernel<scalar_t, index_t><<<grid, kGemmThreads, 0, stream>>>(
      sizes, static_cast<const scalar_t*>(t.weight), columns, static_cast<const scalar_t*>(t.bias),
      static_cast<scalar_t*>(t.output));
  return cuda_result(cudaGetLastError(), "grouped GEMM launch");
}

template <typename Geometry, typename scalar_t, typename index_t>
LaunchResult run_chunks(const Geometry& geometry, const Extent& e, const DeformConvTensors& t, float* columns,
                        int64_t chunk, cudaStream_t stream) {
  const size_t per_sample = column_bytes(e);
  for (int64_t first = 0; first < e.batch; first += chunk) {
    const int64_t count = std::min<int64_t>(chunk, e.batch - first);
    if (e.in_plane() == 0) {
      // Empty input planes: every sample reads zero (padding only); nothing to gather.
      const LaunchResult r = cuda_result(
          cudaMemsetAsync(columns, 0, per_sample * static_cast<size_t>(count), stream), "column memset");
      if (!r.ok()) return r;
    } else {
      Im2colSizes<index_t> is{};
      is.chunk = static_cast<index_t>(count);
      is.first_sample = static_cast<index_t>(first);
      is.channels = static_cast<index_t>(e.channels);
      is.offset_group = static_cast<index_t>(e.offset_group);
      is.kernel_points = static_cast<index_t>(e.kernel_points);
      is.in_d = static_cast<index_t>(e.in_d);
      is.in_h = static_cast<index_t>(e.in_h);
      is.in_w = static_cast<index_t>(e.in_w);
      is.out_d = static_cast<index_t>(e.out_d);
      is.out_h = static_cast<index_t>(e.out_h);
      is.out_w = static_cast<index_t>(e.out_w);
      const LaunchResult r = launch_im2col<Geometry, scalar_t, index_t>(geometry, is, t, columns, stream);
      if (!r.ok()) return r;
    }
    GemmSizes<index_t> gs{};
    gs.chunk = static_cast<index_t>(count);
    gs.first_sample = static_cast<index_t>(first);
    gs.group = static_cast<index_t>(e.group);
    gs.out_per_group = static_cast<index_t>(e.out_channels / e.group);
    gs.depth = static_cast<index_t>(e.channels / e.group * e.kernel_points);
    gs.positions = static_cast<index_t>(e.out_plane());
    gs.out_channels = static_cast<index_t>(e.out_channels);
    const LaunchResult r = launch_gemm<scalar_t, index_t>(gs, t, columns, stream);
    if (!r.ok()) return r;
  }
  return LaunchResult{};
}

template <typename Geometry, typename Shape>
LaunchResult forward_impl(const Geometry& geometry, const Shape& shape, Storage storage,
                          const DeformConvTensors& t, void* workspace, size_t workspace_bytes,
                          cudaStream_t stream) {
  const Extent e = extent_of(geometry, shape);
  std::string error = check_problem(geometry, e);
  if (!error.empty()) return error_result(cudaErrorInvalidValue, error);
  if (e.has_bias != (t.bias != nullptr) || e.has_mask != (t.mask != nullptr)) {
    return error_result(cudaErrorInvalidValue,
                        std::string("bias/mask: shape says has_bias=") + (e.has_bias ? "1" : "0") +
                            " has_mask=" + (e.has_mask ? "1" : "0") + ", got pointers bias=" +
                            (t.bias ? "set" : "null") + " mask=" + (t.mask ? "set" : "null"));
  }
  const int64_t out_elements = e.batch * e.out_channels * e.out_plane();
  if (out_elements == 0) return LaunchResult{};  // batch 0 or no output channels: nothing to write
  if (t.output == nullptr || t.weight == nullptr || t.offset == nullptr || t.input == nullptr) {
    return error_result(cudaErrorInvalidValue,
                        "tensors: got a null input/weight/offset/output pointer, expected "
                        "device pointers for a non-empty output");
  }
  const size_t per_sample = column_bytes(e);
  int64_t chunk = e.batch;
  if (per_sample > 0) {
    if (workspace == nullptr || workspace_bytes < per_sample) {
      return error_result(cudaErrorInvalidValue, "workspace: got " + std::to_string(workspace_bytes) +
                                                     " bytes, expected >= " + std::to_string(per_sample) +
                                                     " (one sample's columns)");
    }
    chunk = std::min<int64_t>(e.batch, static_cast<int64_t>(workspace_bytes / per_sample));
  }
  float* columns = static_cast<float*>(workspace);
  const bool wide = needs_64bit_index(shape, geometry, chunk);  // every tensor and the chunk's columns
  if (storage == Storage::kFloat32) {
    return wide ? run_chunks<Geometry, float, int64_t>(geometry, e, t, columns, chunk, stream)
                : run_chunks<Geometry, float, int32_t>(geometry, e, t, columns, chunk, stream);
  }
  if (storage == Storage::kFloat16) {
    return wide ? run_chunks<Geometry, __half, int64_t>(geometry, e, t, columns, chunk, stream)
                : run_chunks<Geometry, __half, int32_t>(geometry, e, t, columns, chunk, stream);
  }
  return error_result(cudaErrorInvalidValue, "storage: got " + std::to_string(static_cast<int32_t>(storage)) +
                                                 ", expected kFloat32 (0) or kFloat16 (1)");
}

}  // namespace

size_t column_bytes_per_sample(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape) {
  return column_bytes(extent_of(geometry, shape));
}

size_t column_bytes_per_sample(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape) {
  return column_bytes(extent_of(geometry, shape));
}

size_t workspace_size(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape, size_t budget) {
  return workspace_bytes_for(extent_of(geometry, shape), budget);
}

size_t workspace_size(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape, size_t budget) {
  return workspace_bytes_for(extent_of(geometry, shape), budget);
}

LaunchResult forward(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape, Storage storage,
                     const DeformConvTensors& tensors, void* workspace, size_t workspace_bytes,
                     cudaStream_t stream) {
  try {
    return forward_impl(geometry, shape, storage, tensors, workspace, workspace_bytes, stream);
  } catch (...) {  // std::string allocation only
    return error_result(cudaErrorMemoryAllocation, "DeformConv (CUDA): host allocation failed");
  }
}

LaunchResult forward(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape, Storage storage,
                     const DeformConvTensors& tensors, void* workspace, size_t workspace_bytes,
                     cudaStream_t stream) {
  try {
    return forward_impl(geometry, shape, storage, tensors, workspace, workspace_bytes, stream);
  } catch (...) {
    return error_result(cudaErrorMemoryAllocation, "DeformConv3D (CUDA): host allocation failed");
  }
}

}  // namespace cuda
}  // namespace dcn
}  // namespace comix
