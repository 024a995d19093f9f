// deform_conv_cpu.cpp — driver of the CPU DCN forward: plan, channels-last copy, parallel blocks.
#include "comix_dcn_cpu/deform_conv_cpu.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <new>
#include <vector>

#include "block_gemm.h"
#include "column_plan.h"
#include "im2col.h"

namespace comix {
namespace dcn {
namespace cpu {
namespace {

// Per-thread buffers, reused across blocks and calls (bounded by one column block per thread).
struct ThreadScratch {
  std::vector<float> columns;
  FillScratch fill;
};

ThreadScratch& thread_scratch() {
  thread_local ThreadScratch scratch;
  return scratch;
}

// Per-call buffers of the calling thread, kept between calls (capacity = the largest call seen), so that
// a model's later runs allocate nothing (the flight runtime's promise, tests/capi/alloc_count.c).
struct CallWorkspace {
  ColumnPlan plan;
  std::vector<float> weight_r, x_cl;
};

CallWorkspace& call_workspace() {
  thread_local CallWorkspace workspace;
  return workspace;
}

// (C, S) -> (S + 1, C) for one batch item, in parallel over spatial tiles; row S is the zero pixel.
void to_channels_last(const float* x_n, int64_t channels, int64_t plane, float* x_cl,
                      const ParallelFor& parallel_for) {
  const int64_t tile = 256;
  const int64_t tiles = (plane + tile - 1) / tile;
  const auto body = [&](size_t t) {
    const int64_t s0 = static_cast<int64_t>(t) * tile, s1 = std::min(plane, s0 + tile);
    for (int64_t c0 = 0; c0 < channels; c0 += 16) {
      const int64_t c1 = std::min(channels, c0 + 16);
      for (int64_t s = s0; s < s1; ++s) {
        for (int64_t c = c0; c < c1; ++c) x_cl[s * channels + c] = x_n[c * plane + s];
      }
    }
  };
  parallel_for(static_cast<size_t>(tiles), std::cref(body));  // by reference: std::function stores no copy
  std::fill(x_cl + plane * channels, x_cl + (plane + 1) * channels, 0.0f);
}

// True when every value is finite (x - x is 0 only for finite x; vectorises).
bool all_finite(const float* x, int64_t count) {
  float acc = 0.0f;
  for (int64_t i = 0; i < count; ++i) acc += x[i] - x[i];
  return acc == 0.0f;
}

template <typename index_t, bool kGuard>
void fill_columns_as(const ColumnPlan& plan, const DeformConv2DGeometry& g, const DeformConv2DShape& s,
                     const float* x_cl, const float* offset_n, const float* mask_n, int64_t p0, int64_t count,
                     float* col, FillScratch& scratch) {
  fill_columns_2d<index_t, kGuard>(plan, g, s, x_cl, offset_n, mask_n, p0, count, col, scratch);
}

template <typename index_t, bool kGuard>
void fill_columns_as(const ColumnPlan& plan, const DeformConv3DGeometry& g, const DeformConv3DShape& s,
                     const float* x_cl, const float* offset_n, const float* mask_n, int64_t p0, int64_t count,
                     float* col, FillScratch& scratch) {
  fill_columns_3d<index_t, kGuard>(plan, g, s, x_cl, offset_n, mask_n, p0, count, col, scratch);
}

// Picks the spatial index width and the non-finite guard at run time.
template <typename Geometry, typename Shape>
void fill_columns(const ColumnPlan& plan, const Geometry& g, const Shape& s, const float* x_cl,
                  const float* offset_n, const float* mask_n, int64_t p0, int64_t count, float* col,
                  ThreadScratch& scratch, bool wide_index, bool guard_non_finite) {
  if (wide_index) {
    if (guard_non_finite) {
      fill_columns_as<int64_t, true>(plan, g, s, x_cl, offset_n, mask_n, p0, count, col, scratch.fill);
    } else {
      fill_columns_as<int64_t, false>(plan, g, s, x_cl, offset_n, mask_n, p0, count, col, scratch.fill);
    }
  } else if (guard_non_finite) {
    fill_columns_as<int32_t, true>(plan, g, s, x_cl, offset_n, mask_n, p0, count, col, scratch.fill);
  } else {
    fill_columns_as<int32_t, false>(plan, g, s, x_cl, offset_n, mask_n, p0, count, col, scratch.fill);
  }
}

template <typename Geometry, typename Shape>
std::string run_forward(const Geometry& geometry, const Shape& shape, const DeformConvInputs& in, float* y,
                        const ParallelFor& parallel_for) {
  constexpr int nd = Geometry::kSpatialDims;
  if ((in.bias != nullptr) != shape.has_bias || (in.mask != nullptr) != shape.has_mask) {
    return "deform_conv_forward: bias/mask pointers disagree with shape.has_bias/has_mask";
  }
  CallWorkspace& workspace = call_workspace();
  ColumnPlan& plan = workspace.plan;
  plan.batch = shape.batch;
  plan.channels = shape.channels;
  plan.out_channels = shape.out_channels;
  plan.group = geometry.group;
  plan.offset_group = geometry.offset_group;
  plan.kernel_points = geometry.kernel_points();
  plan.in_plane = shape.in_plane();
  plan.out_plane = shape.out_plane();
  finish_plan(plan);
  if (plan.batch == 0 || plan.out_channels == 0 || plan.out_plane == 0) return "";  // nothing to write
  if (in.x == nullptr || in.weight == nullptr || in.offset == nullptr || y == nullptr) {
    return "deform_conv_forward: got a null X, W, offset or Y pointer, expected all four set";
  }
  // Spatial corner indices (plus the zero pixel) in 32 bits when they fit; element offsets are 64-bit.
  const bool wide_index = plan.in_plane + 1 > std::numeric_limits<int32_t>::max();

  std::vector<float>& weight_r = workspace.weight_r;
  weight_r.resize(static_cast<size_t>(plan.out_channels * plan.group_row));
  reorder_weight(plan, in.weight, weight_r.data());
  std::vector<float>& x_cl = workspace.x_cl;
  x_cl.resize(static_cast<size_t>((plan.in_plane + 1) * plan.channels));
  const int64_t K = plan.kernel_points;

  for (int64_t n = 0; n < plan.batch; ++n) {
    const float* x_n = in.x + n * plan.channels * plan.in_plane;
    const float* offset_n = in.offset + n * plan.offset_group * K * nd * plan.out_plane;
    const float* mask_n = in.mask ? in.mask + n * plan.offset_group * K * plan.out_plane : nullptr;
    float* y_n = y + n * plan.out_channels * plan.out_plane;
    to_channels_last(x_n, plan.channels, plan.in_plane, x_cl.data(), parallel_for);
    const bool guard_non_finite = !all_finite(x_n, plan.channels * plan.in_plane);
    std::atomic<bool> failed{false};
    std::mutex error_mutex;
    std::string error;
    const auto block = [&](size_t b) noexcept {
      if (failed.load(std::memory_order_relaxed)) return;
      try {
        const int64_t p0 = static_cast<int64_t>(b) * plan.block;
        const int64_t count = std::min(plan.block, plan.out_plane - p0);
        ThreadScratch& scratch = thread_scratch();
        scratch.columns.resize(static_cast<size_t>(plan.block * plan.row));
        fill_columns(plan, geometry, shape, x_cl.data(), offset_n, mask_n, p0, count, scratch.columns.data(),
                     scratch, wide_index, guard_non_finite);
        gemm_block(plan, weight_r.data(), scratch.columns.data(), in.bias, p0, count, y_n);
      } catch (...) {
        // exceptions must not escape into the host's thread pool: record the first and stop.
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!failed.exchange(true)) error = "deform_conv_forward: a worker failed (out of memory?)";
      }
    };
    parallel_for(static_cast<size_t>(plan.blocks()), std::cref(block));
    if (failed.load()) return error;
  }
  return "";
}

template <typename Body>
std::string guarded(Body body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return "deform_conv_forward: out of memory";
  } catch (const std::exception& e) {
    return std::string("deform_conv_forward: ") + e.what();
  } catch (...) {
    return "deform_conv_forward: unknown exception";
  }
}

}  // namespace

std::string deform_conv2d_forward(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape,
                                  const DeformConvInputs& inputs, float* y,
                                  const ParallelFor& parallel_for) noexcept {
  return guarded([&] { return run_forward(geometry, shape, inputs, y, parallel_for); });
}

std::string deform_conv3d_forward(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape,
                                  const DeformConvInputs& inputs, float* y,
                                  const ParallelFor& parallel_for) noexcept {
  return guarded([&] { return run_forward(geometry, shape, inputs, y, parallel_for); });
}

}  // namespace cpu
}  // namespace dcn
}  // namespace comix
