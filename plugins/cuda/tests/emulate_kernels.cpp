// tests/emulate_kernels.cpp — runs the CUDA DCN kernels (im2col + grouped GEMM) on the host.
//
// Test-only driver for tests/plugins/test_cuda_compile.py: reads float32 tensors from a folder, runs the
// unchanged kernel source under cuda_host_emulation.h with the same chunking as deform_conv_forward.cu,
// writes the output. Usage:
//   emulate_kernels DIR ND N C O IN_D IN_H IN_W K_D K_H K_W S_D S_H S_W PB_D PB_H PB_W PE_D PE_H PE_W
//                   DIL_D DIL_H DIL_W GROUP OFFSET_GROUP HAS_BIAS HAS_MASK CHUNK INDEX_BITS STORAGE
// (2-D: the D entries are ignored; STORAGE 32 = float, 16 = __half storage with FP32 accumulation)
// Files: DIR/{x,w,offset,bias,mask}.f32 in, DIR/y.f32 out (all float32, NC[D]HW contiguous).
#include "cuda_host_emulation.h"

#include <cuda_fp16.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../src/deform_im2col.cuh"
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

struct Args {
  int nd;
  int64_t n, c, o, in[3], k[3], s[3], pb[3], pe[3], dil[3], group, og, has_bias, has_mask, chunk, index_bits,
      storage;
};

template <typename scalar_t, typename index_t>
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
  std::vector<scalar_t> y(static_cast<size_t>(a.n * a.o * P));
  std::vector<float> columns(static_cast<size_t>(a.chunk * a.c * K * P));

  for (int64_t first = 0; first < a.n; first += a.chunk) {
    const int64_t count = std::min(a.chunk, a.n - first);
    std::fill(columns.begin(), columns.end(), -12345.0f);  // poison: every used column must be written
    Im2colSizes<index_t> is{
        static_cast<index_t>(count),   static_cast<index_t>(first),   static_cast<index_t>(a.c),
        static_cast<index_t>(a.og),    static_cast<index_t>(K),       static_cast<index_t>(in_d),
        static_cast<index_t>(a.in[1]), static_cast<index_t>(a.in[2]), static_cast<index_t>(out[0]),
        static_cast<index_t>(out[1]),  static_cast<index_t>(out[2])};
    const int64_t total = count * a.og * K * P;
    // At most 3 blocks, so larger cases run the kernels' grid-stride loop several times.
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((total + 255) / 256, 3));
    const scalar_t* mask_ptr = a.has_mask ? mask.data() : nullptr;
    if (a.nd == 2) {
      launch_serial(dim3(blocks), dim3(256), [&] {
        deform_im2col_2d_kernel<scalar_t, index_t>(g2, is, x.data(), off.data(), mask_ptr, columns.data());
      });
    } else {
      launch_serial(dim3(blocks), dim3(256), [&] {
        deform_im2col_3d_kernel<scalar_t, index_t>(g3, is, x.data(), off.data(), mask_ptr, columns.data());
      });
    }
    GemmSizes<index_t> gs{static_cast<index_t>(count),
                          static_cast<index_t>(first),
                          static_cast<index_t>(a.group),
                          static_cast<index_t>(a.o / a.group),
                          static_cast<index_t>(a.c / a.group * K),
                          static_cast<index_t>(P),
                          static_cast<index_t>(a.o)};
    // grid.z deliberately smaller than chunk*group when possible, to exercise the kernel's z loop.
    const unsigned gz = static_cast<unsigned>(std::max<int64_t>(1, (count * a.group + 1) / 2));
    const dim3 grid(static_cast<unsigned>((P + kGemmTileN - 1) / kGemmTileN),
                    static_cast<unsigned>((a.o / a.group + kGemmTileM - 1) / kGemmTileM), gz);
    launch_cooperative(grid, dim3(kGemmThreads), [&] {
      grouped_gemm_kernel<scalar_t, index_t>(gs, w.data(), columns.data(), a.has_bias ? bias.data() : nullptr,
                                             y.data());
    });
  }
  std::vector<float> y32(y.size());
  for (size_t i = 0; i < y.size(); ++i) y32[i] = static_cast<float>(y[i]);
  std::ofstream(dir + "/y.f32", std::ios::binary)
      .write(reinterpret_cast<const char*>(y32.data()),
             static_cast<std::streamsize>(y32.size() * sizeof(float)));
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
  if (a.storage == 16)
    return a.index_bits == 64 ? run<__half, int64_t>(dir, a) : run<__half, int32_t>(dir, a);
  return a.index_bits == 64 ? run<float, int64_t>(dir, a) : run<float, int32_t>(dir, a);
}
