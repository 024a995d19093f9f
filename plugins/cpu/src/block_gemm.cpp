// block_gemm.cpp — the GEMM step of the CPU DCN, on Eigen (single-threaded per block; blocks run in
// parallel).
//
// Eigen's GEMM packs its operands into buffers it allocates per product (on the heap above 128 KiB, on
// the stack below). Here the same kernel runs with packing buffers owned by the calling thread and kept
// between calls, so that after the first run of a shape a block allocates nothing and puts no large
// array on the stack (the flight runtime's promise, tests/capi/alloc_count.c; a flight software thread
// may have a small stack). This uses Eigen's internal GEMM entry point (3.3 and 3.4 differ in its
// arguments); with another Eigen version it falls back to the plain product.
#define EIGEN_DONT_PARALLELIZE
#include "block_gemm.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <new>

#if EIGEN_VERSION_AT_LEAST(3, 4, 0) && !EIGEN_VERSION_AT_LEAST(3, 4, 90)
#define COMIX_OWNED_GEMM_BUFFERS 1
#endif

namespace comix {
namespace dcn {
namespace cpu {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Stride = Eigen::OuterStride<>;

namespace {

#if defined(COMIX_OWNED_GEMM_BUFFERS)
// An aligned float buffer that only grows (never shrinks: its size is the largest block seen).
class GrowingBuffer {
 public:
  GrowingBuffer() = default;
  GrowingBuffer(const GrowingBuffer&) = delete;
  GrowingBuffer& operator=(const GrowingBuffer&) = delete;
  ~GrowingBuffer() { std::free(data_); }
  float* reserve(Eigen::Index count) {
    if (count > capacity_) {
      constexpr std::size_t kAlign = 64;  // >= EIGEN_MAX_ALIGN_BYTES on every target (AVX-512 included)
      const std::size_t bytes =
          (static_cast<std::size_t>(count) * sizeof(float) + kAlign - 1) / kAlign * kAlign;
      void* grown = std::aligned_alloc(kAlign, bytes);
      if (grown == nullptr) throw std::bad_alloc();
      std::free(data_);
      data_ = static_cast<float*>(grown);
      capacity_ = count;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  Eigen::Index capacity_ = 0;
};

// Eigen's blocking (cache block sizes kc, mc, nc) with packing buffers from this thread's GrowingBuffers.
class OwnedBlocking : public Eigen::internal::level3_blocking<float, float> {
 public:
  OwnedBlocking(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth) {
    thread_local GrowingBuffer a, b;
    this->m_kc = depth;
    this->m_mc = rows;
    this->m_nc = cols;
    Eigen::internal::computeProductBlockingSizes<float, float, 1>(this->m_kc, this->m_mc, this->m_nc,
                                                                  Eigen::Index{1});
    this->m_blockA = a.reserve(this->m_kc * this->m_mc);
    this->m_blockB = b.reserve(this->m_kc * this->m_nc);
  }
};

// y (og x count, row-major, row stride ys) = w (og x kcg, row-major) * cols (kcg x count, column-major,
// column stride cs). Eigen computes a row-major product as the transposed column-major one.
void product(Eigen::Index og, Eigen::Index count, Eigen::Index kcg, const float* w, const float* cols,
             Eigen::Index cs, float* y, Eigen::Index ys) {
  for (Eigen::Index r = 0; r < og; ++r) std::fill(y + r * ys, y + r * ys + count, 0.0f);
  OwnedBlocking blocking(count, og, kcg);
  using Gemm =
      Eigen::internal::general_matrix_matrix_product<Eigen::Index, float, Eigen::RowMajor, false, float,
                                                     Eigen::ColMajor, false, Eigen::RowMajor, 1>;
  Gemm::run(og, count, kcg, w, kcg, cols, cs, y, 1, ys, 1.0f, blocking);
}
#endif

}  // namespace

void gemm_block(const ColumnPlan& plan, const float* weight_r, const float* col, const float* bias,
                int64_t p0, int64_t count, float* y_n) {
  const Eigen::Index og = plan.out_channels_per_group, kcg = plan.group_row;
  for (int64_t g = 0; g < plan.group; ++g) {
    Eigen::Map<RowMajorMatrix, Eigen::Unaligned, Stride> y(y_n + g * og * plan.out_plane + p0, og, count,
                                                           Stride(plan.out_plane));
    if (kcg == 0) {
      y.setZero();
    } else {
      // the block is row-major (count, C*K); its transpose is a column-major (KCg, count) view.
#if defined(COMIX_OWNED_GEMM_BUFFERS)
      product(og, count, kcg, weight_r + g * og * kcg, col + g * kcg, plan.row, y.data(), plan.out_plane);
#else
      Eigen::Map<const RowMajorMatrix> w(weight_r + g * og * kcg, og, kcg);
      Eigen::Map<const ColMajorMatrix, Eigen::Unaligned, Stride> cols(col + g * kcg, kcg, count,
                                                                      Stride(plan.row));
      y.noalias() = w * cols;
#endif
    }
    if (bias != nullptr) {
      y.colwise() += Eigen::Map<const Eigen::VectorXf>(bias + g * og, og);
    }
  }
}

void reorder_weight(const ColumnPlan& plan, const float* weight, float* weight_r) {
  const int64_t cg = plan.channels_per_group, k_points = plan.kernel_points;
  for (int64_t o = 0; o < plan.out_channels; ++o) {
    const float* src = weight + o * cg * k_points;
    float* dst = weight_r + o * cg * k_points;
    for (int64_t c = 0; c < cg; ++c) {
      for (int64_t k = 0; k < k_points; ++k) dst[k * cg + c] = src[c * k_points + k];
    }
  }
}

}  // namespace cpu
}  // namespace dcn
}  // namespace comix
