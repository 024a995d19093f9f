// model_digest.cpp — protobuf wire walk + SHA-256; see model_digest.h and comix/model_digest.py.
#include "model_digest.h"

#include <stdexcept>

#include "sha256.h"

namespace comix {
namespace capi {
namespace {

constexpr std::uint32_t kModelGraph = 7, kModelMetadata = 14;
constexpr std::uint32_t kGraphInitializer = 5, kGraphSparseInitializer = 15;
constexpr std::uint32_t kTensorDataLocation = 14, kDataLocationExternal = 1;
constexpr std::uint32_t kSparseValues = 1, kSparseIndices = 2;
constexpr std::uint32_t kEntryKey = 1, kEntryValue = 2;
constexpr std::uint32_t kWireVarint = 0, kWireFixed64 = 1, kWireBytes = 2, kWireFixed32 = 5;
constexpr const char* kWeightsKey = "comix.weights_sha256";
constexpr const char* kGraphKey = "comix.graph_sha256";
constexpr std::size_t kPrefix = 8;  // hex characters of a digest quoted in a message

// Why the bytes are not a protobuf message (internal; becomes "not a valid ONNX file (...)").
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// An initializer kept in an external file (internal; becomes the refusal sentence).
struct External : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Field {
  std::uint32_t number = 0, wire = 0;
  std::size_t start = 0, value = 0, end = 0;  // key, value (payload for wire type 2), one past the end
};

std::uint64_t read_varint(const std::uint8_t* data, std::size_t& pos, std::size_t end) {
  std::uint64_t result = 0;
  for (int shift = 0;; shift += 7) {
    if (shift >= 70) throw Malformed("a varint is longer than 10 bytes");
    if (pos >= end) throw Malformed("a varint runs past the end of its message");
    const std::uint8_t byte = data[pos++];
    const std::uint64_t bits = byte & 0x7F;
    // Bits beyond 64 saturate (Python's integers do not wrap: a huge length must stay huge).
    if (shift >= 64 || (shift > 0 && (bits >> (64 - shift)) != 0)) {
      result = ~std::uint64_t{0};
    } else if (result != ~std::uint64_t{0}) {
      result |= bits << shift;
    }
    if (byte < 0x80) return result;
  }
}

// Iterates the fields of the message data[begin, end).
class Fields {
 public:
  Fields(const std::uint8_t* data, std::size_t begin, std::size_t end)
      : data_(data), pos_(begin), end_(end) {}

  bool next(Field& field) {
    if (pos_ >= end_) return false;
    field.start = pos_;
    const std::uint64_t key = read_varint(data_, pos_, end_);
    const std::uint64_t number = key >> 3;
    field.wire = static_cast<std::uint32_t>(key & 7);
    if (number == 0 || (key >> 32) != 0) {
      throw Malformed("got field number " + std::to_string(number) + " at byte " +
                      std::to_string(field.start) + ", expected 1 to 2^29-1");
    }
    field.number = static_cast<std::uint32_t>(number);
    std::size_t stop = 0;
    // Lengths are compared before adding so that a huge varint cannot wrap around.
    const std::size_t left = end_ - pos_;
    if (field.wire == kWireVarint) {
      field.value = pos_;
      read_varint(data_, pos_, end_);
      stop = pos_;
    } else if (field.wire == kWireFixed64 || field.wire == kWireFixed32) {
      const std::size_t width = field.wire == kWireFixed64 ? 8 : 4;
      field.value = pos_;
      if (width > left) throw past_end(field);
      stop = pos_ + width;
    } else if (field.wire == kWireBytes) {
      const std::uint64_t length = read_varint(data_, pos_, end_);
      field.value = pos_;
      if (length > end_ - pos_) throw past_end(field);
      stop = pos_ + static_cast<std::size_t>(length);
    } else {
      throw Malformed("got wire type " + std::to_string(field.wire) + " at byte " +
                      std::to_string(field.start) + ", expected 0, 1, 2 or 5 (groups are refused)");
    }
    pos_ = stop;
    field.end = stop;
    return true;
  }

 private:
  Malformed past_end(const Field& field) const {
    return Malformed("field " + std::to_string(field.number) + " at byte " + std::to_string(field.start) +
                     " runs past the end of its message: truncated?");
  }
  const std::uint8_t* data_;
  std::size_t pos_, end_;
};

const Field& message_field(const Field& field, const char* name) {
  if (field.wire != kWireBytes) {
    throw Malformed(std::string(name) + " (field " + std::to_string(field.number) + ") has wire type " +
                    std::to_string(field.wire) + ", expected 2");
  }
  return field;
}

void check_tensor(const std::uint8_t* data, const Field& tensor, const char* name) {
  Fields fields(data, tensor.value, tensor.end);
  for (Field field; fields.next(field);) {
    if (field.number == kTensorDataLocation && field.wire == kWireVarint) {
      std::size_t pos = field.value;
      if (read_varint(data, pos, field.end) == kDataLocationExternal) {
        throw External(std::string(name) + " keeps its data in an external file");
      }
    }
  }
}

void check_initializer(const std::uint8_t* data, const Field& field) {
  message_field(field, "an initializer");
  if (field.number == kGraphInitializer) {
    check_tensor(data, field, "an initializer");
    return;
  }
  Fields parts(data, field.value, field.end);
  for (Field part; parts.next(part);) {
    if (part.number == kSparseValues || part.number == kSparseIndices) {
      check_tensor(data, message_field(part, "a sparse tensor part"), "a sparse initializer");
    }
  }
}

// The one walk behind check_structure and compute_digests; hashes only when given hashers.
void walk(const std::uint8_t* data, std::size_t size, Sha256* weights, Sha256* graph) {
  int graphs = 0;
  Fields top(data, 0, size);
  for (Field field; top.next(field);) {
    if (field.number == kModelMetadata) continue;
    if (field.number != kModelGraph) {
      if (graph) graph->update(data + field.start, field.end - field.start);
      continue;
    }
    ++graphs;
    message_field(field, "the graph");
    Fields parts(data, field.value, field.end);
    for (Field part; parts.next(part);) {
      const bool weight = part.number == kGraphInitializer || part.number == kGraphSparseInitializer;
      if (weight) check_initializer(data, part);
      Sha256* into = weight ? weights : graph;
      if (into) into->update(data + part.start, part.end - part.start);
    }
  }
  if (graphs == 0) throw Malformed("it has no graph (ModelProto field 7)");
}

std::string not_onnx(const std::string& source, const Malformed& error) {
  return source + ": not a valid ONNX file (" + error.what() + ")";
}

std::string external(const std::string& source, const External& error) {
  return source + ": " + error.what() +
         " (data_location = EXTERNAL), which the weights digest cannot cover; expected a single-file model";
}

template <typename Body>
std::string guarded(const std::string& source, Body body) {
  try {
    body();
    return "";
  } catch (const Malformed& error) {
    return not_onnx(source, error);
  } catch (const External& error) {
    return external(source, error);
  }
}

bool is_hex_digest(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string quoted_start(const std::string& text) { return "'" + text.substr(0, 20) + "'"; }

std::string differs_both(const Digests& got, const Digests& expected) {
  return "weights: got sha256 " + got.weights.substr(0, kPrefix) + "…, recorded " +
         expected.weights.substr(0, kPrefix) + "…; graph: got sha256 " + got.graph.substr(0, kPrefix) +
         "…, recorded " + expected.graph.substr(0, kPrefix) + "…";
}

}  // namespace

std::string check_structure(const std::uint8_t* data, std::size_t size, const std::string& source) {
  return guarded(source, [&] { walk(data, size, nullptr, nullptr); });
}

std::string compute_digests(const std::uint8_t* data, std::size_t size, const std::string& source,
                            Digests& out) {
  Sha256 weights, graph;
  std::string error = guarded(source, [&] { walk(data, size, &weights, &graph); });
  if (error.empty()) {
    out.weights = weights.hex();
    out.graph = graph.hex();
  }
  return error;
}

std::string recorded_digests(const std::uint8_t* data, std::size_t size, const std::string& source,
                             Digests& out) {
  out = Digests{};
  std::string problem;
  std::string error = guarded(source, [&] {
    Fields top(data, 0, size);
    for (Field field; top.next(field) && problem.empty();) {
      if (field.number != kModelMetadata) continue;
      message_field(field, "a metadata entry");
      std::string key, value;
      Fields parts(data, field.value, field.end);
      for (Field part; parts.next(part);) {
        if ((part.number == kEntryKey || part.number == kEntryValue) && part.wire == kWireBytes) {
          std::string text(reinterpret_cast<const char*>(data + part.value), part.end - part.value);
          (part.number == kEntryKey ? key : value) = std::move(text);
        }
      }
      std::string* slot = key == kWeightsKey ? &out.weights : key == kGraphKey ? &out.graph : nullptr;
      if (slot == nullptr) continue;
      if (!slot->empty()) {
        problem = source + ": records " + key + " twice, expected once";
      } else if (!is_hex_digest(value)) {
        problem =
            source + ": " + key + ": got " + quoted_start(value) + ", expected 64 lowercase hex characters";
      } else {
        *slot = value;
      }
    }
  });
  if (!error.empty()) return error;
  if (!problem.empty()) return problem;
  if (out.weights.empty() != out.graph.empty()) {
    const bool has_weights = !out.weights.empty();
    return source + ": records " + (has_weights ? kWeightsKey : kGraphKey) + " but not " +
           (has_weights ? kGraphKey : kWeightsKey) + ", expected both digests";
  }
  return "";
}

std::string verify_digests(const std::uint8_t* data, std::size_t size, const std::string& source,
                           const char* no_record_hint) {
  Digests expected, got;
  std::string error = compute_digests(data, size, source, got);
  if (error.empty()) error = recorded_digests(data, size, source, expected);
  if (!error.empty()) return error;
  if (expected.empty()) {
    return source + ": has no recorded digests (" + kWeightsKey + ", " + kGraphKey + "): " + no_record_hint;
  }
  const bool weights_ok = got.weights == expected.weights, graph_ok = got.graph == expected.graph;
  if (weights_ok && graph_ok) return "";
  if (!weights_ok && !graph_ok) {
    return source + ": the weights and the graph do not match the digests recorded at export (" +
           differs_both(got, expected) + "): the file was corrupted or modified";
  }
  const std::string& got_hex = weights_ok ? got.graph : got.weights;
  const std::string& expected_hex = weights_ok ? expected.graph : expected.weights;
  return source + ": " + (weights_ok ? "the graph does" : "the weights do") +
         " not match the digest recorded at export (got sha256 " + got_hex.substr(0, kPrefix) +
         "…, recorded " + expected_hex.substr(0, kPrefix) + "…): the file was corrupted or modified";
}

}  // namespace capi
}  // namespace comix
