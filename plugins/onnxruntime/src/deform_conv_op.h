// deform_conv_op.h — ONNX Runtime custom op for N-D deformable convolution (CPU, float32).
//
// DeformConvOp<3> is ai.comix::DeformConv3D version 1; DeformConvOp<2> is the same op for 2-D inputs
// (registered only when COMIX_ORT_REGISTER_DEFORM_CONV_2D is set: ORT's own DeformConv is the default).
// Inputs X, W, offset, B (optional), mask (optional); attributes kernel_shape, strides, pads,
// dilations, group, offset_group exactly as ONNX DeformConv. Attributes are checked when the session
// creates the kernel, tensor shapes at every run; errors come back as an OrtStatus with a got/expected
// message, and no exception leaves the library.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include "ort_api_version.h"

#include <cstdint>
#include <vector>

namespace comix {
namespace ort {

// ONNX attributes as given; kernel_shape may be empty (then taken from W at run time).
struct DeformConvAttributes {
  std::vector<int64_t> kernel_shape, strides, pads, dilations;
  int64_t group = 1, offset_group = 1;
};

template <int ND>
struct DeformConvKernel {
  DeformConvAttributes attributes;
  OrtStatusPtr ComputeV2(OrtKernelContext* context) noexcept;
};

template <int ND>
struct DeformConvOp : Ort::CustomOpBase<DeformConvOp<ND>, DeformConvKernel<ND>, /*WithStatus=*/true> {
  DeformConvOp() {
    this->start_ver_ = 1;  // ai.comix domain version 1 (comix/ops/spec.py CUSTOM_DOMAIN_VERSION)
    this->version = COMIX_ORT_API_VERSION;  // not the headers' version: see ort_api_version.h
  }
  OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** op_kernel) const noexcept;
  const char* GetName() const;
  const char* GetExecutionProviderType() const { return "CPUExecutionProvider"; }
  size_t GetInputTypeCount() const { return 5; }
  ONNXTensorElementDataType GetInputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
    return index < 3 ? INPUT_OUTPUT_REQUIRED : INPUT_OUTPUT_OPTIONAL;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
};

}  // namespace ort
}  // namespace comix
