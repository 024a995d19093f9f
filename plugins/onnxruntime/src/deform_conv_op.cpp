// deform_conv_op.cpp — attribute parsing, shape checks and the call into comix_dcn_cpu.
#include "deform_conv_op.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <new>
#include <string>

#include "comix_dcn/validate.h"
#include "comix_dcn_cpu/deform_conv_cpu.h"

namespace comix {
namespace ort {
namespace {

template <int ND>
struct Traits;

template <>
struct Traits<2> {
  using Geometry = dcn::DeformConv2DGeometry;
  using Shape = dcn::DeformConv2DShape;
  static constexpr const char* kName = "DeformConv";
  static Geometry make(const int64_t* k, const int64_t* s, const int64_t* p, const int64_t* d, int64_t g,
                       int64_t og) {
    return dcn::make_geometry_2d(k, s, p, d, g, og);
  }
  static std::string forward(const Geometry& g, const Shape& s, const dcn::cpu::DeformConvInputs& in,
                             float* y, const dcn::cpu::ParallelFor& pf) {
    return dcn::cpu::deform_conv2d_forward(g, s, in, y, pf);
  }
  static void output_shape(const Shape& s, int64_t* out) {
    const int64_t dims[] = {s.batch, s.out_channels, s.out_height, s.out_width};
    std::copy(dims, dims + 4, out);
  }
};

template <>
struct Traits<3> {
  using Geometry = dcn::DeformConv3DGeometry;
  using Shape = dcn::DeformConv3DShape;
  static constexpr const char* kName = "DeformConv3D";
  static Geometry make(const int64_t* k, const int64_t* s, const int64_t* p, const int64_t* d, int64_t g,
                       int64_t og) {
    return dcn::make_geometry_3d(k, s, p, d, g, og);
  }
  static std::string forward(const Geometry& g, const Shape& s, const dcn::cpu::DeformConvInputs& in,
                             float* y, const dcn::cpu::ParallelFor& pf) {
    return dcn::cpu::deform_conv3d_forward(g, s, in, y, pf);
  }
  static void output_shape(const Shape& s, int64_t* out) {
    const int64_t dims[] = {s.batch, s.out_channels, s.out_depth, s.out_height, s.out_width};
    std::copy(dims, dims + 5, out);
  }
};

OrtStatusPtr make_error(const std::string& message, OrtErrorCode code = ORT_INVALID_ARGUMENT) {
  return Ort::GetApi().CreateStatus(code, message.c_str());
}

// Outcome of reading one optional attribute.
enum class Read { kPresent, kAbsent, kError };

// ORT reports "absent" and "wrong type" through the same call; only "No attribute ..." means absent,
// anything else (e.g. strides given as floats) is an error the user must see.
Read classify(const OrtApi& api, OrtStatus* status, const char* op, const char* name, const char* expected,
              std::string& error) {
  if (status == nullptr) return Read::kPresent;
  const std::string message = api.GetErrorMessage(status);
  api.ReleaseStatus(status);
  if (message.find("No attribute") != std::string::npos) return Read::kAbsent;
  error = std::string(op) + ": attribute " + name + ": got an unreadable value (" + message + "), expected " +
          expected;
  return Read::kError;
}

// Reads an int64 array attribute into `values` when present.
Read read_ints(const OrtApi& api, const OrtKernelInfo* info, const char* op, const char* name,
               std::vector<int64_t>& values, std::string& error) {
  size_t size = 0;
  Read r = classify(api, api.KernelInfoGetAttributeArray_int64(info, name, nullptr, &size), op, name, "ints",
                    error);
  if (r != Read::kPresent) return r;
  std::vector<int64_t> read(size);
  if (size > 0) {
    r = classify(api, api.KernelInfoGetAttributeArray_int64(info, name, read.data(), &size), op, name, "ints",
                 error);
    if (r != Read::kPresent) return r;
  }
  values.swap(read);
  return Read::kPresent;
}

Read read_int(const OrtApi& api, const OrtKernelInfo* info, const char* op, const char* name, int64_t& value,
              std::string& error) {
  return classify(api, api.KernelInfoGetAttribute_int64(info, name, &value), op, name, "an int", error);
}

// Attribute lengths and ranges; kernel_shape may be absent (placeholder 1s for the range check).
template <int ND>
std::string check_attributes(const DeformConvAttributes& a) {
  const char* op = Traits<ND>::kName;
  const size_t kernel_len = a.kernel_shape.empty() ? ND : a.kernel_shape.size();
  std::string error =
      dcn::check_attribute_lengths(op, ND, kernel_len, a.strides.size(), a.pads.size(), a.dilations.size());
  if (!error.empty()) return error;
  const std::vector<int64_t> kernel = a.kernel_shape.empty() ? std::vector<int64_t>(ND, 1) : a.kernel_shape;
  return dcn::check_geometry(op, Traits<ND>::make(kernel.data(), a.strides.data(), a.pads.data(),
                                                  a.dilations.data(), a.group, a.offset_group));
}

// Runs the CPU kernel's parallel loops on the session's intra-op thread pool.
dcn::cpu::ParallelFor session_parallel_for(const Ort::KernelContext& context) {
  return [&context](std::size_t count, const std::function<void(std::size_t)>& body) {
    if (count == 0) return;
    if (count == 1) {
      body(0);
      return;
    }
    context.ParallelFor(
        [](void* data, size_t i) { (*static_cast<const std::function<void(std::size_t)>*>(data))(i); }, count,
        0, const_cast<void*>(static_cast<const void*>(&body)));
  };
}

// Copies a tensor's shape into `dims`, reusing its capacity (no allocation once it has held that rank).
void dims_of(const Ort::ConstValue& value, dcn::Dims& dims) {
  const Ort::TensorTypeAndShapeInfo info = value.GetTensorTypeAndShapeInfo();
  dims.resize(info.GetDimensionsCount());
  // the C call: the C++ wrapper's GetShape() returns a new vector
  Ort::ThrowOnError(Ort::GetApi().GetDimensions(info, dims.data(), dims.size()));
}

// An optional input counts as present when it is given and not an empty tensor; fills its dims if so.
bool present(const Ort::ConstValue& value, dcn::Dims& dims) {
  if (value == nullptr) return false;
  dims_of(value, dims);
  for (int64_t d : dims) {
    if (d == 0) return false;
  }
  return true;
}

// Shapes of one call, per calling thread and kept between calls: a run allocates no shape vectors
// (the flight runtime's promise, tests/capi/alloc_count.c).
struct CallDims {
  dcn::Dims x, w, offset, bias, mask;
};

CallDims& call_dims() {
  thread_local CallDims dims;
  return dims;
}

template <int ND>
OrtStatusPtr compute(const DeformConvAttributes& a, OrtKernelContext* raw_context) {
  using T = Traits<ND>;
  const char* op = T::kName;
  Ort::KernelContext context(raw_context);
  const size_t inputs = context.GetInputCount();
  if (inputs < 3) {
    return make_error(std::string(op) + ": got " + std::to_string(inputs) + " inputs, expected 3 to 5");
  }
  Ort::ConstValue x = context.GetInput(0), w = context.GetInput(1), offset = context.GetInput(2);
  Ort::ConstValue bias = inputs > 3 ? context.GetInput(3) : Ort::ConstValue{nullptr};
  Ort::ConstValue mask = inputs > 4 ? context.GetInput(4) : Ort::ConstValue{nullptr};
  CallDims& dims = call_dims();
  dims_of(x, dims.x);
  dims_of(w, dims.w);
  dims_of(offset, dims.offset);
  const bool has_bias = present(bias, dims.bias), has_mask = present(mask, dims.mask);

  const int64_t* kernel = a.kernel_shape.data();
  if (a.kernel_shape.empty()) {  // ONNX: kernel_shape absent -> from W
    if (dims.w.size() != ND + 2) {
      return make_error(std::string(op) + ": input W: got shape " + dcn::dims_to_string(dims.w) +
                        ", expected rank " + std::to_string(ND + 2) + " (O, C/group, *kernel)");
    }
    kernel = dims.w.data() + 2;
  }
  const typename T::Geometry geometry =
      T::make(kernel, a.strides.data(), a.pads.data(), a.dilations.data(), a.group, a.offset_group);
  typename T::Shape shape;
  const std::string error =
      dcn::check_shapes(op, geometry, dims.x, dims.w, dims.offset, has_bias ? &dims.bias : nullptr,
                        has_mask ? &dims.mask : nullptr, shape);
  if (!error.empty()) return make_error(error);

  int64_t out_dims[ND + 2];
  T::output_shape(shape, out_dims);
  Ort::UnownedValue y = context.GetOutput(0, out_dims, ND + 2);
  dcn::cpu::DeformConvInputs in;
  in.x = x.GetTensorData<float>();
  in.weight = w.GetTensorData<float>();
  in.offset = offset.GetTensorData<float>();
  in.bias = has_bias ? bias.GetTensorData<float>() : nullptr;
  in.mask = has_mask ? mask.GetTensorData<float>() : nullptr;
  const std::string run_error =
      T::forward(geometry, shape, in, y.GetTensorMutableData<float>(), session_parallel_for(context));
  if (!run_error.empty()) return make_error(std::string(op) + ": " + run_error, ORT_RUNTIME_EXCEPTION);
  return nullptr;
}

template <typename Body>
OrtStatusPtr guarded(const char* op, const char* where, Body body) noexcept {
  try {
    return body();
  } catch (const Ort::Exception& e) {
    return make_error(std::string(op) + " " + where + ": " + e.what(), e.GetOrtErrorCode());
  } catch (const std::bad_alloc&) {
    return make_error(std::string(op) + " " + where + ": out of memory", ORT_RUNTIME_EXCEPTION);
  } catch (const std::exception& e) {
    return make_error(std::string(op) + " " + where + ": " + e.what(), ORT_RUNTIME_EXCEPTION);
  } catch (...) {
    return make_error(std::string(op) + " " + where + ": unknown exception", ORT_RUNTIME_EXCEPTION);
  }
}

}  // namespace

template <int ND>
OrtStatusPtr DeformConvKernel<ND>::ComputeV2(OrtKernelContext* context) noexcept {
  return guarded(Traits<ND>::kName, "run", [&] { return compute<ND>(attributes, context); });
}

template <int ND>
const char* DeformConvOp<ND>::GetName() const {
  return Traits<ND>::kName;
}

template <int ND>
OrtStatusPtr DeformConvOp<ND>::CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info,
                                              void** op_kernel) const noexcept {
  return guarded(Traits<ND>::kName, "kernel creation", [&]() -> OrtStatusPtr {
    *op_kernel = nullptr;
    DeformConvAttributes a;
    a.strides.assign(ND, 1);
    a.dilations.assign(ND, 1);
    a.pads.assign(2 * ND, 0);
    const char* op = Traits<ND>::kName;
    std::string read_error;
    const Read reads[] = {
        read_ints(api, info, op, "kernel_shape", a.kernel_shape, read_error),
        read_ints(api, info, op, "strides", a.strides, read_error),
        read_ints(api, info, op, "pads", a.pads, read_error),
        read_ints(api, info, op, "dilations", a.dilations, read_error),
        read_int(api, info, op, "group", a.group, read_error),
        read_int(api, info, op, "offset_group", a.offset_group, read_error),
    };
    for (Read r : reads) {
      if (r == Read::kError) return make_error(read_error);
    }
    const std::string error = check_attributes<ND>(a);
    if (!error.empty()) return make_error(error);
    auto* kernel = new DeformConvKernel<ND>();
    kernel->attributes = std::move(a);
    *op_kernel = kernel;
    return nullptr;
  });
}

template struct DeformConvKernel<2>;
template struct DeformConvKernel<3>;
template struct DeformConvOp<2>;
template struct DeformConvOp<3>;

}  // namespace ort
}  // namespace comix
