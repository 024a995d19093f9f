// tests/emulate_kernels.cpp — runs the CUDA DCN forward (launch plan + im2col + grouped GEMM) on the host.
//
// Test-only driver for tests/plugins/test_cuda_compile.py: reads float32 tensors from a folder, runs the
// kernel file's own launch plan (src/launch_plan.h: checks, chunk loop, grid clamps, 32/64-bit choice,
// empty-plane branch) with the unchanged kernel source under cuda_host_emulation.h, writes the output and
// prints what the plan did as one JSON line. Usage:
//   emulate_kernels DIR ND N C O IN_D IN_H IN_W K_D K_H K_W S_D S_H S_W PB_D PB_H PB_W PE_D PE_H PE_W
//                   DIL_D DIL_H DIL_W GROUP OFFSET_GROUP HAS_BIAS HAS_MASK CHUNK INDEX_BITS STORAGE
// (2-D: the D entries are ignored; CHUNK: the workspace holds this many samples' columns; INDEX_BITS 64
// lowers the plan's 32-bit limit to 0 so it takes int64_t indices; STORAGE 32 = float, 16 = __half
// storage with FP32 accumulation). The launch limits are small (3 im2col blocks, grid.z <= 2), so small
// cases run the kernels' grid-stride and batch loops too.
// Files: DIR/{x,w,offset,bias,mask}.f32 in, DIR/y.f32 out (all float32, NC[D]HW contiguous).
#include "cuda_host_emulation.h"

#include <cuda_fp16.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../src/deform_im2col.cuh"
#include "../src/launch_plan.h"
#include "../src/tiled_gemm.cuh"

namespace {

using namespace comix::dcn;
using namespace comix::dcn::cuda;

std::vector<float> read_f32(const std::string& path, size_t count) {
  std::vector<float> data(count);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(count * sizeof(float)))) {
    std::fprintf(stderr, "%s: got fewer than %zu float32 values\n", path.c_str(), count);
    std::exit(2);
  }
  return data;
}

template <typename scalar_t>
std::vector<scalar_t> to_storage(const std::vector<float>& v) {
  std::vector<scalar_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<scalar_t>(v[i]);
  return out;
}

void launch_serial(dim3 grid, dim3 block, const auto& body) {  // kernels without __syncthreads
  comix_emulation::g_grid_dim = grid;
  comix_emulation::g_block_dim = block;
  for (unsigned bx = 0; bx < grid.x; ++bx)
    for (unsigned t = 0; t < block.x; ++t) {
      comix_emulation::tl_block_idx = uint3{bx, 0, 0};
      comix_emulation::tl_thread_idx = uint3{t, 0, 0};
      body();
    }
}

void launch_cooperative(dim3 grid, dim3 block, const auto& body) {  // one host thread per CUDA thread
  comix_emulation::g_grid_dim = grid;
  comix_emulation::g_block_dim = block;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        std::barrier<> barrier(static_cast<std::ptrdiff_t>(block.x));
        comix_emulation::g_block_barrier = &barrier;
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < block.x; ++t)
          threads.emplace_back([&, t] {
            comix_emulation::tl_block_idx = uint3{bx, by, bz};
            comix_emulation::tl_thread_idx = uint3{t, 0, 0};
            body();
          });
        for (auto& th : threads) th.join();
        comix_emulation::g_block_barrier = nullptr;
      }
}

// The plan's launches, run on the host. Columns a chunk uses are poisoned first: every one must be written.
struct HostLauncher {
  template <typename scalar_t, typename index_t, typename Geometry>
  LaunchResult im2col(const Geometry& geometry, const Im2colSizes<index_t>& sizes, unsigned blocks,
                      const DeformConvTensors& t, float* columns) {
    const size_t used = static_cast<size_t>(sizes.chunk) * sizes.channels * sizes.kernel_points *
                        sizes.out_d * sizes.out_h * sizes.out_w;
    std::fill(columns, columns + used, -12345.0f);
    const auto* input = static_cast<const scalar_t*>(t.input);
    const auto* offset = static_cast<const scalar_t*>(t.offset);
    const auto* mask = static_cast<const scalar_t*>(t.mask);
    launch_serial(dim3(blocks), dim3(plan::kIm2colThreads), [&] {
      if constexpr (Geometry::kSpatialDims == 2) {
        deform_im2col_2d_kernel<scalar_t, index_t>(geometry, sizes, input, offset, mask, columns);
      } else {
        deform_im2col_3d_kernel<scalar_t, index_t>(geometry, sizes, input, offset, mask, columns);
      }
    });
    return LaunchResult{};
  }

  template <typename scalar_t, typename index_t>
  LaunchResult gemm(dim3 grid, const GemmSizes<index_t>& sizes, const DeformConvTensors& t,
                    const float* columns) {
    launch_cooperative(grid, dim3(kGemmThreads), [&] {
      grouped_gemm_kernel<scalar_t, index_t>(sizes, static_cast<const scalar_t*>(t.weight), columns,
                                             static_cast<const scalar_t*>(t.bias),
                                             static_cast<scalar_t*>(t.output));
    });
    return LaunchResult{};
  }

  LaunchResult zero_columns(float* columns, size_t bytes) {
    std::memset(columns, 0, bytes);
    return LaunchResult{};
  }
};

struct Args {
  int nd;
  int64_t n, c, o, in[3], k[3], s[3], pb[3], pe[3], dil[3], group, og, has_bias, has_mask, chunk, index_bits,
      storage;
};

template <typename scalar_t>
int run(const std::string& dir, const Args& a) {
  DeformConv2DGeometry g2;
  DeformConv3DGeometry g3;
  int64_t out[3] = {1, 1, 1};
  const int first_axis = a.nd == 2 ? 1 : 0;
  for (int ax = first_axis; ax < 3; ++ax)
    out[ax] = conv_output_size(a.in[ax], a.k[ax], a.s[ax], a.pb[ax], a.pe[ax], a.dil[ax]);
  if (a.nd == 2) {
    const int64_t k[2] = {a.k[1], a.k[2]}, s[2] = {a.s[1], a.s[2]}, d[2] = {a.dil[1], a.dil[2]};
    const int64_t p[4] = {a.pb[1], a.pb[2], a.pe[1], a.pe[2]};
    g2 = make_geometry_2d(k, s, p, d, a.group, a.og);
  } else {
    const int64_t p[6] = {a.pb[0], a.pb[1], a.pb[2], a.pe[0], a.pe[1], a.pe[2]};
    g3 = make_geometry_3d(a.k, a.s, p, a.dil, a.group, a.og);
  }
  const int64_t K = a.nd == 2 ? g2.kernel_points() : g3.kernel_points();
  const int64_t in_d = a.nd == 2 ? 1 : a.in[0];
  const int64_t P = out[0] * out[1] * out[2];
  const int64_t in_plane = in_d * a.in[1] * a.in[2];
  auto x = to_storage<scalar_t>(read_f32(dir + "/x.f32", static_cast<size_t>(a.n * a.c * in_plane)));
  auto w = to_storage<scalar_t>(read_f32(dir + "/w.f32", static_cast<size_t>(a.o * (a.c / a.group) * K)));
  auto off =
      to_storage<scalar_t>(read_f32(dir + "/offset.f32", static_cast<size_t>(a.n * a.og * K * a.nd * P)));
  std::vector<scalar_t> bias, mask;
  if (a.has_bias) bias = to_storage<scalar_t>(read_f32(dir + "/bias.f32", static_cast<size_t>(a.o)));
  if (a.has_mask)
    mask = to_storage<scalar_t>(read_f32(dir + "/mask.f32", static_cast<size_t>(a.n * a.og * K * P)));
  std::vector<scalar_t> y(static_cast<size_t>(std::max<int64_t>(a.n * a.o * P, 1)));
  std::vector<float> columns(static_cast<size_t>(std::max<int64_t>(a.chunk * a.c * K * P, 1)));

  DeformConvTensors t;
  t.input = x.data();
  t.weight = w.data();
  t.offset = off.data();
  t.bias = a.has_bias ? bias.data() : nullptr;
  t.mask = a.has_mask ? mask.data() : nullptr;
  t.output = y.data();
  plan::LaunchLimits limits;
  limits.max_im2col_blocks = 3;
  limits.max_grid_z = 2;
  if (a.index_bits == 64) limits.max_32bit_count = 0;
  const Storage storage = a.storage == 16 ? Storage::kFloat16 : Storage::kFloat32;
  const size_t workspace_bytes = static_cast<size_t>(a.chunk * a.c * K * P) * sizeof(float);
  HostLauncher launcher;
  plan::PlanTrace trace;
  LaunchResult result;
  if (a.nd == 2) {
    DeformConv2DShape s{a.n, a.c, a.in[1], a.in[2], a.o, out[1], out[2], a.has_bias != 0, a.has_mask != 0};
    result = plan::forward_plan(g2, s, storage, t, columns.data(), workspace_bytes, limits, launcher, trace);
  } else {
    DeformConv3DShape s{a.n,    a.c,    a.in[0], a.in[1],         a.in[2],        a.o,
                        out[0], out[1], out[2],  a.has_bias != 0, a.has_mask != 0};
    result = plan::forward_plan(g3, s, storage, t, columns.data(), workspace_bytes, limits, launcher, trace);
  }
  if (!result.ok()) {
    std::fprintf(stderr, "forward plan: status %d: %s\n", static_cast<int>(result.status),
                 result.message.c_str());
    return 1;
  }
  std::vector<float> y32(static_cast<size_t>(a.n * a.o * P));
  for (size_t i = 0; i < y32.size(); ++i) y32[i] = static_cast<float>(y[i]);
  std::ofstream(dir + "/y.f32", std::ios::binary)
      .write(reinterpret_cast<const char*>(y32.data()),
             static_cast<std::streamsize>(y32.size() * sizeof(float)));
  std::printf(
      "{\"chunk\": %lld, \"chunks\": %lld, \"index_bits\": %d, \"im2col_launches\": %lld, "
      "\"gemm_launches\": %lld, \"zero_fills\": %lld, \"last_im2col_blocks\": %lld, \"last_grid_z\": %lld}\n",
      static_cast<long long>(trace.chunk), static_cast<long long>(trace.chunks), trace.index_bits,
      static_cast<long long>(trace.im2col_launches), static_cast<long long>(trace.gemm_launches),
      static_cast<long long>(trace.zero_fills), static_cast<long long>(trace.last_im2col_blocks),
      static_cast<long long>(trace.last_grid_z));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 31) {
    std::fprintf(stderr, "emulate_kernels: got %d arguments, expected 30 (see the file header)\n", argc - 1);
    return 2;
  }
  Args a{};
  int i = 2;
  auto next = [&] { return std::atoll(argv[i++]); };
  a.nd = static_cast<int>(next());
  a.n = next();
  a.c = next();
  a.o = next();
  for (auto* field : {a.in, a.k, a.s, a.pb, a.pe, a.dil})
    for (int ax = 0; ax < 3; ++ax) field[ax] = next();
  a.group = next();
  a.og = next();
  a.has_bias = next();
  a.has_mask = next();
  a.chunk = next();
  a.index_bits = next();
  a.storage = next();
  const std::string dir = argv[1];
  return a.storage == 16 ? run<__half>(dir, a) : run<float>(dir, a);
}
