// launch_plan.h — how the CUDA DCN forward is launched, as code both deform_conv_forward.cu and the host
// emulation (plugins/cuda/tests/emulate_kernels.cpp) run.
//
// Problem checks, workspace size, the chunk loop over samples, the 32/64-bit index choice, the empty-plane
// branch, grid sizes and their clamps. The caller supplies a Launcher that does the launches:
//   template <typename scalar_t, typename index_t, typename Geometry>
//   LaunchResult im2col(const Geometry&, const Im2colSizes<index_t>&, unsigned blocks,
//                       const DeformConvTensors&, float* columns);
//   template <typename scalar_t, typename index_t>
//   LaunchResult gemm(dim3 grid, const GemmSizes<index_t>&, const DeformConvTensors&, const float* columns);
//   LaunchResult zero_columns(float* columns, size_t bytes);
// and LaunchLimits: the GPU's (the defaults), or smaller ones in the emulation so that a small case also
// runs the kernels' grid-stride loops and the 64-bit index path.
#pragma once

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
namespace plan {

constexpr int kIm2colThreads = 256;

struct LaunchLimits {
  int64_t max_im2col_blocks = int64_t{1} << 20;   // grid-stride beyond this
  int64_t max_grid_z = 65535;                     // CUDA's limit; the GEMM kernel loops over z beyond it
  int64_t max_grid_y = 65535;                     // CUDA's limit; no loop: an error beyond it
  int64_t max_32bit_count = kInt32IndexMaxCount;  // larger element counts take int64_t indices
};

// What one forward call did (for tests of the plan; the GPU path ignores it).
struct PlanTrace {
  int64_t chunk = 0, chunks = 0, im2col_launches = 0, gemm_launches = 0, zero_fills = 0;
  int64_t last_im2col_blocks = 0, last_grid_z = 0;
  int index_bits = 0;
};

// Dimension-generic view of a call (in_d/out_d = 1 in 2-D).
struct Extent {
  int64_t batch, channels, out_channels;
  int64_t in_d, in_h, in_w, out_d, out_h, out_w;
  int64_t group, offset_group, kernel_points;
  bool has_bias, has_mask;
  int64_t in_plane() const { return in_d * in_h * in_w; }
  int64_t out_plane() const { return out_d * out_h * out_w; }
};

inline Extent extent_of(const DeformConv2DGeometry& g, const DeformConv2DShape& s) {
  return Extent{s.batch,    s.channels,   s.out_channels, 1,       s.height,       s.width,
                1,          s.out_height, s.out_width,    g.group, g.offset_group, g.kernel_points(),
                s.has_bias, s.has_mask};
}

inline Extent extent_of(const DeformConv3DGeometry& g, const DeformConv3DShape& s) {
  return Extent{s.batch,        s.channels,        s.out_channels, s.depth,     s.height,
                s.width,        s.out_depth,       s.out_height,   s.out_width, g.group,
                g.offset_group, g.kernel_points(), s.has_bias,     s.has_mask};
}

inline LaunchResult error_result(cudaError_t status, std::string message) {
  LaunchResult r;
  r.status = status;
  r.message = std::move(message);
  return r;
}

inline std::string check_extent(const char* op, const Extent& e, int64_t expected_out_d,
                                int64_t expected_out_h, int64_t expected_out_w) {
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

inline std::string check_problem(const DeformConv2DGeometry& g, const Extent& e) {
  return check_extent(
      "DeformConv (CUDA)", e, 1,
      conv_output_size(e.in_h, g.kernel_h, g.stride_h, g.pad_h_begin, g.pad_h_end, g.dilation_h),
      conv_output_size(e.in_w, g.kernel_w, g.stride_w, g.pad_w_begin, g.pad_w_end, g.dilation_w));
}

inline std::string check_problem(const DeformConv3DGeometry& g, const Extent& e) {
  return check_extent(
      "DeformConv3D (CUDA)", e,
      conv_output_size(e.in_d, g.kernel_d, g.stride_d, g.pad_d_begin, g.pad_d_end, g.dilation_d),
      conv_output_size(e.in_h, g.kernel_h, g.stride_h, g.pad_h_begin, g.pad_h_end, g.dilation_h),
      conv_output_size(e.in_w, g.kernel_w, g.stride_w, g.pad_w_begin, g.pad_w_end, g.dilation_w));
}

inline size_t column_bytes(const Extent& e) {
  return static_cast<size_t>(e.channels) * static_cast<size_t>(e.kernel_points) *
         static_cast<size_t>(e.out_plane()) * sizeof(float);
}

inline size_t workspace_bytes_for(const Extent& e, size_t budget) {
  const size_t per_sample = column_bytes(e);
  if (per_sample == 0 || e.batch == 0 || e.out_channels == 0) return 0;
  // min(all samples, max(one sample, budget)): monotone in every size, so the workspace reported for
  // the largest shape of a TensorRT profile covers every smaller shape.
  return std::min<size_t>(static_cast<size_t>(e.batch) * per_sample, std::max<size_t>(per_sample, budget));
}

template <typename scalar_t, typename index_t, typename Geometry, typename Launcher>
LaunchResult launch_im2col(const Geometry& geometry, const Im2colSizes<index_t>& sizes,
                           const DeformConvTensors& t, float* columns, const LaunchLimits& limits,
                           Launcher& launcher, PlanTrace& trace) {
  const int64_t total = static_cast<int64_t>(sizes.chunk) * sizes.offset_group * sizes.kernel_points *
                        sizes.out_d * sizes.out_h * sizes.out_w;
  if (total == 0) return LaunchResult{};
  const int64_t blocks =
      std::min<int64_t>((total + kIm2colThreads - 1) / kIm2colThreads, limits.max_im2col_blocks);
  ++trace.im2col_launches;
  trace.last_im2col_blocks = blocks;
  return launcher.template im2col<scalar_t, index_t>(geometry, sizes, static_cast<unsigned>(blocks), t,
                                                     columns);
}

template <typename scalar_t, typename index_t, typename Launcher>
LaunchResult launch_gemm(const GemmSizes<index_t>& sizes, const DeformConvTensors& t, const float* columns,
                         const LaunchLimits& limits, Launcher& launcher, PlanTrace& trace) {
  const int64_t batches = static_cast<int64_t>(sizes.chunk) * sizes.group;
  if (batches == 0 || sizes.out_per_group == 0 || sizes.positions == 0) return LaunchResult{};
  const int64_t grid_x = (static_cast<int64_t>(sizes.positions) + kGemmTileN - 1) / kGemmTileN;
  const int64_t grid_y = (static_cast<int64_t>(sizes.out_per_group) + kGemmTileM - 1) / kGemmTileM;
  if (grid_x > std::numeric_limits<int32_t>::max() || grid_y > limits.max_grid_y) {
    return error_result(cudaErrorInvalidValue,
                        "grouped GEMM: got grid (" + std::to_string(grid_x) + ", " + std::to_string(grid_y) +
                            "), expected x < 2^31 and y <= " + std::to_string(limits.max_grid_y) +
                            " (too many output channels per group)");
  }
  const int64_t grid_z = std::min<int64_t>(batches, limits.max_grid_z);
  ++trace.gemm_launches;
  trace.last_grid_z = grid_z;
  const dim3 grid(static_cast<unsigned>(grid_x), static_cast<unsigned>(grid_y),
                  static_cast<unsigned>(grid_z));
  return launcher.template gemm<scalar_t, index_t>(grid, sizes, t, columns);
}

template <typename Geometry, typename scalar_t, typename index_t, typename Launcher>
LaunchResult run_chunks(const Geometry& geometry, const Extent& e, const DeformConvTensors& t, float* columns,
                        int64_t chunk, const LaunchLimits& limits, Launcher& launcher, PlanTrace& trace) {
  const size_t per_sample = column_bytes(e);
  for (int64_t first = 0; first < e.batch; first += chunk) {
    const int64_t count = std::min<int64_t>(chunk, e.batch - first);
    ++trace.chunks;
    if (e.in_plane() == 0) {
      // Empty input planes: every sample reads zero (padding only); nothing to gather.
      ++trace.zero_fills;
      const LaunchResult r = launcher.zero_columns(columns, per_sample * static_cast<size_t>(count));
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
      const LaunchResult r =
          launch_im2col<scalar_t, index_t>(geometry, is, t, columns, limits, launcher, trace);
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
    const LaunchResult r = launch_gemm<scalar_t, index_t>(gs, t, columns, limits, launcher, trace);
    if (!r.ok()) return r;
  }
  return LaunchResult{};
}

// The whole forward call: checks, chunk size from the workspace, index width, storage dispatch.
template <typename Geometry, typename Shape, typename Launcher>
LaunchResult forward_plan(const Geometry& geometry, const Shape& shape, Storage storage,
                          const DeformConvTensors& t, void* workspace, size_t workspace_bytes,
                          const LaunchLimits& limits, Launcher& launcher, PlanTrace& trace) {
  const Extent e = extent_of(geometry, shape);
  std::string error = check_problem(geometry, e);
  if (!error.empty()) return error_result(cudaErrorInvalidValue, error);
  const int64_t out_elements = e.batch * e.out_channels * e.out_plane();
  if (out_elements == 0) return LaunchResult{};  // batch 0 or no output channels: nothing to write
  // (checked first: a host may pass null pointers for empty tensors)
  if (e.has_bias != (t.bias != nullptr) || e.has_mask != (t.mask != nullptr)) {
    return error_result(cudaErrorInvalidValue,
                        std::string("bias/mask: shape says has_bias=") + (e.has_bias ? "1" : "0") +
                            " has_mask=" + (e.has_mask ? "1" : "0") + ", got pointers bias=" +
                            (t.bias ? "set" : "null") + " mask=" + (t.mask ? "set" : "null"));
  }
  // an empty input (a size-0 plane, or no channels) or empty weight is never read and may be null
  const bool input_read = e.channels * e.in_plane() > 0;
  if (t.output == nullptr || t.offset == nullptr || (t.weight == nullptr && e.channels > 0) ||
      (t.input == nullptr && input_read)) {
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
  // every tensor and the chunk's columns within 32-bit reach (comix_dcn/layout.h), else 64-bit indices
  const bool wide = largest_element_count(shape, geometry, chunk) > limits.max_32bit_count;
  trace.chunk = chunk;
  trace.index_bits = wide ? 64 : 32;
  if (storage == Storage::kFloat32) {
    return wide
               ? run_chunks<Geometry, float, int64_t>(geometry, e, t, columns, chunk, limits, launcher, trace)
               : run_chunks<Geometry, float, int32_t>(geometry, e, t, columns, chunk, limits, launcher,
                                                      trace);
  }
  if (storage == Storage::kFloat16) {
    return wide ? run_chunks<Geometry, __half, int64_t>(geometry, e, t, columns, chunk, limits, launcher,
                                                        trace)
                : run_chunks<Geometry, __half, int32_t>(geometry, e, t, columns, chunk, limits, launcher,
                                                        trace);
  }
  return error_result(cudaErrorInvalidValue, "storage: got " + std::to_string(static_cast<int32_t>(storage)) +
                                                 ", expected kFloat32 (0) or kFloat16 (1)");
}

}  // namespace plan
}  // namespace cuda
}  // namespace dcn
}  // namespace comix
