// block_gemm.h — Y[block] = W_g x columns_g (+ B) for every group, on one block of output positions.
#pragma once

#include <cstdint>

#include "column_plan.h"

namespace comix {
namespace dcn {
namespace cpu {

// weight_r: (O, K*Cg) reordered weight (see reorder_weight); col: (count, C*K) column block;
// y_n: (O, P) output of the batch item; writes columns [p0, p0+count) of every row. bias may be null.
void gemm_block(const ColumnPlan& plan, const float* weight_r, const float* col, const float* bias,
                int64_t p0, int64_t count, float* y_n);

// (O, Cg, K) -> (O, K, Cg): the weight row order that matches the column layout.
void reorder_weight(const ColumnPlan& plan, const float* weight, float* weight_r);

}  // namespace cpu
}  // namespace dcn
}  // namespace comix
