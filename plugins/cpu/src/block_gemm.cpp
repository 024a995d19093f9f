// block_gemm.cpp — the GEMM step of the CPU DCN, on Eigen (single-threaded per block; blocks run in
// parallel).
#define EIGEN_DONT_PARALLELIZE
#include "block_gemm.h"

#include <Eigen/Core>

namespace comix {
namespace dcn {
namespace cpu {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Stride = Eigen::OuterStride<>;

void gemm_block(const ColumnPlan& plan, const float* weight_r, const float* col, const float* bias,
                int64_t p0, int64_t count, float* y_n) {
  const Eigen::Index og = plan.out_channels_per_group, kcg = plan.group_row;
  for (int64_t g = 0; g < plan.group; ++g) {
    Eigen::Map<RowMajorMatrix, Eigen::Unaligned, Stride> y(y_n + g * og * plan.out_plane + p0, og, count,
                                                           Stride(plan.out_plane));
    if (kcg == 0) {
      y.setZero();
    } else {
      Eigen::Map<const RowMajorMatrix> w(weight_r + g * og * kcg, og, kcg);
      // the block is row-major (count, C*K); its transpose is a column-major (KCg, count) view.
      Eigen::Map<const ColMajorMatrix, Eigen::Unaligned, Stride> cols(col + g * kcg, kcg, count,
                                                                      Stride(plan.row));
      y.noalias() = w * cols;
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
