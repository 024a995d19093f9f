// deform_conv_forward.cu — host side of the CUDA DCN forward: the launch plan (launch_plan.h) with the
// launches themselves.
//
// Per chunk of samples: deformable im2col into the FP32 workspace, then the grouped tiled GEMM with
// bias. Dispatch: storage type (float / __half) x index type (int32_t, or int64_t when any tensor or
// the chunk's columns come within kInt32IndexHeadroom of 2^31 elements: comix_dcn/layout.h,
// needs_64bit_index). The plan (checks, chunking, grid sizes and clamps, index width, empty planes) lives
// in launch_plan.h, which the host emulation runs too. Every CUDA status is checked and returned.
#include <cuda_fp16.h>

#include <string>

#include "comix_dcn/comix_dcn.h"
#include "comix_dcn_cuda/deform_conv_cuda.h"
#include "deform_im2col.cuh"
#include "launch_plan.h"
#include "tiled_gemm.cuh"

namespace comix {
namespace dcn {
namespace cuda {
namespace {

LaunchResult cuda_result(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return LaunchResult{};
  return plan::error_result(
      status, std::string(what) + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

// The plan's launches on a CUDA stream.
struct StreamLauncher {
  cudaStream_t stream;

  template <typename scalar_t, typename index_t, typename Geometry>
  LaunchResult im2col(const Geometry& geometry, const Im2colSizes<index_t>& sizes, unsigned blocks,
                      const DeformConvTensors& t, float* columns) {
    const auto* input = static_cast<const scalar_t*>(t.input);
    const auto* offset = static_cast<const scalar_t*>(t.offset);
    const auto* mask = static_cast<const scalar_t*>(t.mask);
    if constexpr (Geometry::kSpatialDims == 2) {
      deform_im2col_2d_kernel<scalar_t, index_t>
          <<<blocks, plan::kIm2colThreads, 0, stream>>>(geometry, sizes, input, offset, mask, columns);
    } else {
      deform_im2col_3d_kernel<scalar_t, index_t>
          <<<blocks, plan::kIm2colThreads, 0, stream>>>(geometry, sizes, input, offset, mask, columns);
    }
    return cuda_result(cudaGetLastError(), "deform_im2col launch");
  }

  template <typename scalar_t, typename index_t>
  LaunchResult gemm(dim3 grid, const GemmSizes<index_t>& sizes, const DeformConvTensors& t,
                    const float* columns) {
    grouped_gemm_kernel<scalar_t, index_t><<<grid, kGemmThreads, 0, stream>>>(
        sizes, static_cast<const scalar_t*>(t.weight), columns, static_cast<const scalar_t*>(t.bias),
        static_cast<scalar_t*>(t.output));
    return cuda_result(cudaGetLastError(), "grouped GEMM launch");
  }

  LaunchResult zero_columns(float* columns, size_t bytes) {
    return cuda_result(cudaMemsetAsync(columns, 0, bytes, stream), "column memset");
  }
};

template <typename Geometry, typename Shape>
LaunchResult forward_on_stream(const Geometry& geometry, const Shape& shape, Storage storage,
                               const DeformConvTensors& t, void* workspace, size_t workspace_bytes,
                               cudaStream_t stream) {
  StreamLauncher launcher{stream};
  plan::PlanTrace trace;
  return plan::forward_plan(geometry, shape, storage, t, workspace, workspace_bytes, plan::LaunchLimits{},
                            launcher, trace);
}

}  // namespace

size_t column_bytes_per_sample(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape) {
  return plan::column_bytes(plan::extent_of(geometry, shape));
}

size_t column_bytes_per_sample(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape) {
  return plan::column_bytes(plan::extent_of(geometry, shape));
}

size_t workspace_size(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape, size_t budget) {
  return plan::workspace_bytes_for(plan::extent_of(geometry, shape), budget);
}

size_t workspace_size(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape, size_t budget) {
  return plan::workspace_bytes_for(plan::extent_of(geometry, shape), budget);
}

LaunchResult forward(const DeformConv2DGeometry& geometry, const DeformConv2DShape& shape, Storage storage,
                     const DeformConvTensors& tensors, void* workspace, size_t workspace_bytes,
                     cudaStream_t stream) {
  try {
    return forward_on_stream(geometry, shape, storage, tensors, workspace, workspace_bytes, stream);
  } catch (...) {  // std::string allocation only
    return plan::error_result(cudaErrorMemoryAllocation, "DeformConv (CUDA): host allocation failed");
  }
}

LaunchResult forward(const DeformConv3DGeometry& geometry, const DeformConv3DShape& shape, Storage storage,
                     const DeformConvTensors& tensors, void* workspace, size_t workspace_bytes,
                     cudaStream_t stream) {
  try {
    return forward_on_stream(geometry, shape, storage, tensors, workspace, workspace_bytes, stream);
  } catch (...) {
    return plan::error_result(cudaErrorMemoryAllocation, "DeformConv3D (CUDA): host allocation failed");
  }
}

}  // namespace cuda
}  // namespace dcn
}  // namespace comix
