// comix_dcn/validate.h — host-only checks of DCN attributes and tensor shapes, shared by every host.
//
// Every check returns an empty string on success, or one message that says what was got and what was
// expected ("DeformConv3D: strides[H]: got 0, expected >= 1"). Nothing throws: the host (ORT op,
// TensorRT plugin creator, PyTorch extension) turns a message into its own error type.
// Not for device code (uses std::string / std::vector).
#pragma once

#if defined(__CUDA_ARCH__)
#error "comix_dcn/validate.h is host-only"
#endif

#include <cstddef>
#include <string>
#include <vector>

#include "comix_dcn/geometry.h"
#include "comix_dcn/layout.h"

namespace comix {
namespace dcn {

using Dims = std::vector<int64_t>;

inline std::string dims_to_string(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

namespace detail {

inline const char* const* axis_names(int nd) {
  static const char* const k2[] = {"H", "W"};
  static const char* const k3[] = {"D", "H", "W"};
  return nd == 2 ? k2 : k3;
}

// Dimension-generic view of a geometry: arrays in tensor axis order.
struct AxisParams {
  int nd;
  int64_t kernel[3], stride[3], pad_begin[3], pad_end[3], dilation[3];
  int64_t group, offset_group;
};

inline AxisParams params_of(const DeformConv2DGeometry& g) {
  return AxisParams{2,
                    {g.kernel_h, g.kernel_w, 0},
                    {g.stride_h, g.stride_w, 0},
                    {g.pad_h_begin, g.pad_w_begin, 0},
                    {g.pad_h_end, g.pad_w_end, 0},
                    {g.dilation_h, g.dilation_w, 0},
                    g.group,
                    g.offset_group};
}

inline AxisParams params_of(const DeformConv3DGeometry& g) {
  return AxisParams{3,
                    {g.kernel_d, g.kernel_h, g.kernel_w},
                    {g.stride_d, g.stride_h, g.stride_w},
                    {g.pad_d_begin, g.pad_h_begin, g.pad_w_begin},
                    {g.pad_d_end, g.pad_h_end, g.pad_w_end},
                    {g.dilation_d, g.dilation_h, g.dilation_w},
                    g.group,
                    g.offset_group};
}

inline std::string check_params(const char* op, const AxisParams& p) {
  const char* const* names = axis_names(p.nd);
  struct Field {
    const char* name;
    const int64_t* values;
    int64_t minimum;
  };
  const Field fields[] = {{"kernel_shape", p.kernel, 1},
                          {"strides", p.stride, 1},
                          {"dilations", p.dilation, 1},
                          {"pads (begin)", p.pad_begin, 0},
                          {"pads (end)", p.pad_end, 0}};
  for (const Field& f : fields) {
    for (int a = 0; a < p.nd; ++a) {
      if (f.values[a] < f.minimum) {
        return std::string(op) + ": " + f.name + "[" + names[a] + "]: got " + std::to_string(f.values[a]) +
               ", expected >= " + std::to_string(f.minimum);
      }
    }
  }
  if (p.group < 1) return std::string(op) + ": group: got " + std::to_string(p.group) + ", expected >= 1";
  if (p.offset_group < 1) {
    return std::string(op) + ": offset_group: got " + std::to_string(p.offset_group) + ", expected >= 1";
  }
  return "";
}

// Checks X, W, offset, B, mask against the geometry; fills out_sizes (nd entries) on success.
inline std::string check_tensors(const char* op, const AxisParams& p, const Dims& x, const Dims& w,
                                 const Dims& offset, const Dims* bias, const Dims* mask, int64_t* out_sizes,
                                 int64_t& out_channels) {
  // op names are short ("DeformConv3D: " fits std::string's inline buffer): no allocation here either
  const std::string pre = std::string(op) + ": ";
  const size_t rank = static_cast<size_t>(p.nd) + 2;
  const char* layout = p.nd == 2 ? "(N, C, H, W)" : "(N, C, D, H, W)";
  if (x.size() != rank) {
    return pre + "input X: got shape " + dims_to_string(x) + ", expected rank " + std::to_string(rank) + " " +
           layout;
  }
  if (w.size() != rank) {
    return pre + "input W: got shape " + dims_to_string(w) + ", expected rank " + std::to_string(rank) +
           " (O, C/group, *kernel)";
  }
  const int64_t batch = x[0], channels = x[1];
  for (size_t i = 0; i < rank; ++i) {
    if (x[i] < 0 || w[i] < 0) {
      return pre + "got X " + dims_to_string(x) + " and W " + dims_to_string(w) +
             ", expected no negative sizes";
    }
  }
  if (channels % p.group != 0) {
    return pre + "input channels C: got " + std::to_string(channels) + ", expected a multiple of group " +
           std::to_string(p.group);
  }
  if (channels % p.offset_group != 0) {
    return pre + "input channels C: got " + std::to_string(channels) +
           ", expected a multiple of offset_group " + std::to_string(p.offset_group);
  }
  out_channels = w[0];
  if (out_channels % p.group != 0) {
    return pre + "W output channels O: got " + std::to_string(out_channels) +
           ", expected a multiple of group " + std::to_string(p.group);
  }
  if (w[1] != channels / p.group) {
    return pre + "W shape[1] (C/group): got " + std::to_string(w[1]) + ", expected " +
           std::to_string(channels / p.group) + " (C=" + std::to_string(channels) +
           ", group=" + std::to_string(p.group) + ")";
  }
  const char* const* names = axis_names(p.nd);
  int64_t kernel_points = 1;
  for (int a = 0; a < p.nd; ++a) {
    if (w[2 + a] != p.kernel[a]) {
      return pre + "W kernel size along " + names[a] + ": got " + std::to_string(w[2 + a]) +
             ", expected kernel_shape[" + names[a] + "] = " + std::to_string(p.kernel[a]);
    }
    kernel_points *= p.kernel[a];
    out_sizes[a] =
        conv_output_size(x[2 + a], p.kernel[a], p.stride[a], p.pad_begin[a], p.pad_end[a], p.dilation[a]);
    if (out_sizes[a] < 1) {
      return pre + "input X size along " + names[a] + ": got " + std::to_string(x[2 + a]) + " with pads (" +
             std::to_string(p.pad_begin[a]) + ", " + std::to_string(p.pad_end[a]) +
             "), expected a padded size >= the dilated kernel extent " +
             std::to_string(p.dilation[a] * (p.kernel[a] - 1) + 1);
    }
  }
  // Expected shapes in fixed arrays, compared in place: a valid call allocates nothing (the flight
  // runtime's promise); the Dims for a message are built only on the error path.
  int64_t expected_offset[5] = {batch, p.offset_group * kernel_points * p.nd, 0, 0, 0};
  int64_t expected_mask[5] = {batch, p.offset_group * kernel_points, 0, 0, 0};
  for (int a = 0; a < p.nd; ++a) expected_offset[2 + a] = expected_mask[2 + a] = out_sizes[a];
  const auto same = [rank](const Dims& got, const int64_t* expected) {
    if (got.size() != rank) return false;
    for (size_t i = 0; i < rank; ++i) {
      if (got[i] != expected[i]) return false;
    }
    return true;
  };
  if (!same(offset, expected_offset)) {
    return pre + "input offset: got shape " + dims_to_string(offset) + ", expected " +
           dims_to_string(Dims(expected_offset, expected_offset + rank)) + " (N, offset_group*K*" +
           std::to_string(p.nd) + ", *output) with offset_group=" + std::to_string(p.offset_group) +
           ", K=" + std::to_string(kernel_points);
  }
  if (bias != nullptr && !(bias->size() == 1 && (*bias)[0] == out_channels)) {
    return pre + "input B: got shape " + dims_to_string(*bias) + ", expected [" +
           std::to_string(out_channels) + "]";
  }
  if (mask != nullptr && !same(*mask, expected_mask)) {
    return pre + "input mask: got shape " + dims_to_string(*mask) + ", expected " +
           dims_to_string(Dims(expected_mask, expected_mask + rank)) + " (N, offset_group*K, *output)";
  }
  return "";
}

}  // namespace detail

// Attribute array lengths as ONNX defines them for nd spatial axes (pads: begins then ends).
inline std::string check_attribute_lengths(const char* op, int nd, size_t kernel_len, size_t strides_len,
                                           size_t pads_len, size_t dilations_len) {
  const std::string pre = std::string(op) + ": ";
  const std::string order = nd == 2 ? "[H, W]" : "[D, H, W]";
  const size_t n = static_cast<size_t>(nd);
  if (kernel_len != n) {
    return pre + "kernel_shape: got " + std::to_string(kernel_len) + " values, expected " +
           std::to_string(n) + " " + order;
  }
  if (strides_len != n) {
    return pre + "strides: got " + std::to_string(strides_len) + " values, expected " + std::to_string(n) +
           " " + order;
  }
  if (dilations_len != n) {
    return pre + "dilations: got " + std::to_string(dilations_len) + " values, expected " +
           std::to_string(n) + " " + order;
  }
  if (pads_len != 2 * n) {
    return pre + "pads: got " + std::to_string(pads_len) + " values, expected " + std::to_string(2 * n) +
           " (all begins, then all ends, " + order + " order)";
  }
  return "";
}

inline std::string check_geometry(const char* op, const DeformConv2DGeometry& g) {
  return detail::check_params(op, detail::params_of(g));
}

inline std::string check_geometry(const char* op, const DeformConv3DGeometry& g) {
  return detail::check_params(op, detail::params_of(g));
}

// Shapes of X, W, offset and the optional B / mask (nullptr = absent) -> DeformConv2DShape.
inline std::string check_shapes(const char* op, const DeformConv2DGeometry& g, const Dims& x, const Dims& w,
                                const Dims& offset, const Dims* bias, const Dims* mask,
                                DeformConv2DShape& shape) {
  std::string error = check_geometry(op, g);
  if (!error.empty()) return error;
  int64_t out[3] = {0, 0, 0};
  int64_t out_channels = 0;
  error = detail::check_tensors(op, detail::params_of(g), x, w, offset, bias, mask, out, out_channels);
  if (!error.empty()) return error;
  shape.batch = x[0];
  shape.channels = x[1];
  shape.height = x[2];
  shape.width = x[3];
  shape.out_channels = out_channels;
  shape.out_height = out[0];
  shape.out_width = out[1];
  shape.has_bias = bias != nullptr;
  shape.has_mask = mask != nullptr;
  return "";
}

inline std::string check_shapes(const char* op, const DeformConv3DGeometry& g, const Dims& x, const Dims& w,
                                const Dims& offset, const Dims* bias, const Dims* mask,
                                DeformConv3DShape& shape) {
  std::string error = check_geometry(op, g);
  if (!error.empty()) return error;
  int64_t out[3] = {0, 0, 0};
  int64_t out_channels = 0;
  error = detail::check_tensors(op, detail::params_of(g), x, w, offset, bias, mask, out, out_channels);
  if (!error.empty()) return error;
  shape.batch = x[0];
  shape.channels = x[1];
  shape.depth = x[2];
  shape.height = x[3];
  shape.width = x[4];
  shape.out_channels = out_channels;
  shape.out_depth = out[0];
  shape.out_height = out[1];
  shape.out_width = out[2];
  shape.has_bias = bias != nullptr;
  shape.has_mask = mask != nullptr;
  return "";
}

}  // namespace dcn
}  // namespace comix
