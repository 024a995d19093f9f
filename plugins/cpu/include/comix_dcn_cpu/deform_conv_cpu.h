// comix_dcn_cpu/deform_conv_cpu.h — CPU forward of 2-D and 3-D modulated deformable convolution (FP32).
//
// Semantics: ONNX DeformConv (opset 19), generalised to 3 spatial axes (see comix_dcn/layout.h for the
// tensor layouts and comix/ops/spec.py for the op spec). All tensors dense, NC + spatial, float32.
//
// Algorithm, per batch item: the input is transposed to channels-last; output positions are cut into
// blocks; each block fills a column buffer (positions x [group][kernel point][channel]) with
// mask * bilinear/trilinear samples (corner weights from comix_dcn/sampling.h computed once per point
// and reused for every channel of the offset group), then one GEMM per group (Eigen) writes the block of
// Y. Memory: one channels-last copy of one batch item, plus one column block per worker thread.
//
// Errors: the functions never throw; they return "" on success or a got/expected message.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "comix_dcn/geometry.h"
#include "comix_dcn/layout.h"

namespace comix {
namespace dcn {
namespace cpu {

// Runs body(i) for every i in [0, count), possibly concurrently, and returns when all are done.
// body never throws. Hosts plug in their own pool (the ORT op uses the session's intra-op pool).
using ParallelFor = std::function<void(std::size_t count, const std::function<void(std::size_t)>& body)>;

// A ParallelFor over `num_threads` std::threads (0 = std::thread::hardware_concurrency()).
ParallelFor make_thread_parallel_for(int num_threads = 0);

// A ParallelFor that runs everything on the calling thread.
ParallelFor serial_parallel_for();

struct DeformConvInputs {
  const float* x = nullptr;       // (N, C, *S)
  const float* weight = nullptr;  // (O, C/group, *kernel)
  const float* offset = nullptr;  // (N, offset_group*K*nd, *oS)
  const float* bias = nullptr;    // (O) or nullptr
  const float* mask = nullptr;    // (N, offset_group*K, *oS) or nullptr
};

// shape must come from comix::dcn::check_shapes (validate.h) for the same geometry; has_bias / has_mask
// must agree with inputs.bias / inputs.mask being non-null. y: (N, O, *oS), fully overwritten.
std::string deform_conv2d_forward(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape,
                                  const DeformConvInputs& inputs, float* y,
                                  const ParallelFor& parallel_for) noexcept;

std::string deform_conv3d_forward(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape,
                                  const DeformConvInputs& inputs, float* y,
                                  const ParallelFor& parallel_for) noexcept;

}  // namespace cpu
}  // namespace dcn
}  // namespace comix
