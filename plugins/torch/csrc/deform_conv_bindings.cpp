// deform_conv_bindings.cpp — the CUDA kernels of the comix::deform_conv2d / comix::deform_conv3d ops.
//
// The ops are defined once, in Python (comix/ops/library.py), with the schema
//   (Tensor input, Tensor offset, Tensor weight, Tensor? bias, Tensor? mask, int[] kernel, int[] stride,
//    int[] pads, int[] dilation, int group, int offset_group) -> Tensor
// This file registers our forward for their CUDA dispatch key: validate, allocate, launch on the current
// stream. strides / dilations: nd values in tensor axis order; pads: 2*nd values, all begins then all ends.
// The math lives in plugins/include/comix_dcn and plugins/cuda. Autograd is the ops' own (Python).
#include <torch/extension.h>

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <optional>
#include <string>
#include <vector>

#include "comix_dcn/validate.h"
#include "comix_dcn_cuda/deform_conv_cuda.h"

namespace {

namespace dcn = comix::dcn;

dcn::Dims sizes_of(const torch::Tensor& t) { return dcn::Dims(t.sizes().begin(), t.sizes().end()); }

void check_tensor(const char* name, const torch::Tensor& t, const torch::Tensor& input) {
  TORCH_CHECK(t.is_cuda(), name, ": got a tensor on ", t.device(), ", expected a CUDA tensor");
  TORCH_CHECK(t.device() == input.device(), name, ": got device ", t.device(), ", expected ", input.device(),
              " (the input's)");
  TORCH_CHECK(t.scalar_type() == input.scalar_type(), name, ": got dtype ", t.scalar_type(), ", expected ",
              input.scalar_type(), " (the input's)");
}

torch::Tensor forward(torch::Tensor input, torch::Tensor weight, torch::Tensor offset,
                      std::optional<torch::Tensor> bias, std::optional<torch::Tensor> mask,
                      std::vector<int64_t> strides, std::vector<int64_t> pads, std::vector<int64_t> dilations,
                      int64_t group, int64_t offset_group) {
  const int64_t nd = input.dim() - 2;
  TORCH_CHECK(nd == 2 || nd == 3, "input: got a ", input.dim(),
              "-D tensor, expected 4-D (N,C,H,W) or 5-D (N,C,D,H,W)");
  TORCH_CHECK(input.scalar_type() == torch::kFloat32 || input.scalar_type() == torch::kFloat16,
              "input: got dtype ", input.scalar_type(), ", expected float32 or float16");
  TORCH_CHECK(input.is_cuda(), "input: got a tensor on ", input.device(), ", expected a CUDA tensor");
  check_tensor("weight", weight, input);
  check_tensor("offset", offset, input);
  if (bias) check_tensor("bias", *bias, input);
  if (mask) check_tensor("mask", *mask, input);
  TORCH_CHECK(weight.dim() == nd + 2, "weight: got ", weight.dim(), " dims, expected ", nd + 2,
              " (O, C/group, *kernel)");
  const std::string op = nd == 2 ? "deform_conv2d_cuda" : "deform_conv3d_cuda";
  const std::string lengths =
      dcn::check_attribute_lengths(op.c_str(), static_cast<int>(nd), static_cast<size_t>(nd), strides.size(),
                                   pads.size(), dilations.size());
  TORCH_CHECK(lengths.empty(), lengths);

  const std::vector<int64_t> kernel(weight.sizes().begin() + 2, weight.sizes().end());
  input = input.contiguous();
  weight = weight.contiguous();
  offset = offset.contiguous();
  torch::Tensor bias_c = bias ? bias->contiguous() : torch::Tensor();
  torch::Tensor mask_c = mask ? mask->contiguous() : torch::Tensor();
  const dcn::Dims bias_dims = bias ? sizes_of(bias_c) : dcn::Dims();
  const dcn::Dims mask_dims = mask ? sizes_of(mask_c) : dcn::Dims();

  const c10::cuda::CUDAGuard guard(input.device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(input.device().index()).stream();
  const dcn::cuda::Storage storage =
      input.scalar_type() == torch::kFloat16 ? dcn::cuda::Storage::kFloat16 : dcn::cuda::Storage::kFloat32;
  dcn::cuda::DeformConvTensors tensors;
  tensors.input = input.data_ptr();
  tensors.weight = weight.data_ptr();
  tensors.offset = offset.data_ptr();
  tensors.bias = bias ? bias_c.data_ptr() : nullptr;
  tensors.mask = mask ? mask_c.data_ptr() : nullptr;

  // Checks every tensor against the geometry, fills `shape`, returns the workspace bytes.
  auto plan = [&](const auto& geometry, auto& shape) -> size_t {
    const std::string error =
        dcn::check_shapes(op.c_str(), geometry, sizes_of(input), sizes_of(weight), sizes_of(offset),
                          bias ? &bias_dims : nullptr, mask ? &mask_dims : nullptr, shape);
    TORCH_CHECK(error.empty(), error);
    return dcn::cuda::workspace_size(geometry, shape);
  };
  torch::Tensor output;
  dcn::cuda::LaunchResult result;
  if (nd == 2) {
    const dcn::DeformConv2DGeometry g = dcn::make_geometry_2d(kernel.data(), strides.data(), pads.data(),
                                                              dilations.data(), group, offset_group);
    dcn::DeformConv2DShape shape;
    const size_t workspace_bytes = plan(g, shape);
    output =
        torch::empty({shape.batch, shape.out_channels, shape.out_height, shape.out_width}, input.options());
    torch::Tensor workspace =
        torch::empty({static_cast<int64_t>(workspace_bytes)}, input.options().dtype(torch::kUInt8));
    tensors.output = output.data_ptr();
    result = dcn::cuda::forward(g, shape, storage, tensors, workspace_bytes ? workspace.data_ptr() : nullptr,
                                workspace_bytes, stream);
  } else {
    const dcn::DeformConv3DGeometry g = dcn::make_geometry_3d(kernel.data(), strides.data(), pads.data(),
                                                              dilations.data(), group, offset_group);
    dcn::DeformConv3DShape shape;
    const size_t workspace_bytes = plan(g, shape);
    output =
        torch::empty({shape.batch, shape.out_channels, shape.out_depth, shape.out_height, shape.out_width},
                     input.options());
    torch::Tensor workspace =
        torch::empty({static_cast<int64_t>(workspace_bytes)}, input.options().dtype(torch::kUInt8));
    tensors.output = output.data_ptr();
    result = dcn::cuda::forward(g, shape, storage, tensors, workspace_bytes ? workspace.data_ptr() : nullptr,
                                workspace_bytes, stream);
  }
  TORCH_CHECK(result.ok(), op, ": ", result.message);
  return output;
}

// The op kernel: the schema's argument order (input, offset, weight, ...); `kernel` must equal W's spatial
// shape.
template <int64_t kSpatialAxes>
torch::Tensor op_kernel(const torch::Tensor& input, const torch::Tensor& offset, const torch::Tensor& weight,
                        const std::optional<torch::Tensor>& bias, const std::optional<torch::Tensor>& mask,
                        at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef pads,
                        at::IntArrayRef dilation, int64_t group, int64_t offset_group) {
  TORCH_CHECK(input.dim() == kSpatialAxes + 2, "input: got a ", input.dim(), "-D tensor, expected ",
              kSpatialAxes + 2, "-D");
  TORCH_CHECK(weight.dim() == kSpatialAxes + 2 && weight.sizes().slice(2).equals(kernel),
              "weight: got shape ", weight.sizes(), ", expected the spatial kernel ", kernel);
  return forward(input, weight, offset, bias, mask, stride.vec(), pads.vec(), dilation.vec(), group,
                 offset_group);
}

}  // namespace

TORCH_LIBRARY_IMPL(comix, CUDA, m) {
  m.impl("deform_conv2d", &op_kernel<2>);
  m.impl("deform_conv3d", &op_kernel<3>);
}

// An importable module (`import comix.plugins.torch._C` loads the library, which registers the kernels).
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "CoMiX CUDA deformable convolution kernels for comix::deform_conv2d / deform_conv3d (CUDA key)";
}
