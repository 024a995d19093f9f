// model_digest.h — the weights and graph digests of an ONNX file, the C++ twin of comix/model_digest.py.
//
// Definitions (both over the file's exact bytes, walking the protobuf wire format, never re-serialising):
//   weights = SHA-256 over every initializer (GraphProto field 5) and sparse_initializer (15) of the
//             ModelProto's graph (field 7), tag + length + payload as in the file, in file order;
//   graph   = SHA-256 over every other top-level field but metadata_props (14), tag + length/value +
//             payload, in file order; field 7 contributes the exact bytes of each of its own fields other
//             than 5 and 15 (not its own tag and length).
// Recorded as metadata_props entries comix.weights_sha256 / comix.graph_sha256 (64 lowercase hex).
// Messages are the Python module's, word for word, so that both front ends say the same thing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace comix {
namespace capi {

struct Digests {
  std::string weights, graph;  // 64 lowercase hex characters each, or both empty (none recorded)
  bool empty() const { return weights.empty() && graph.empty(); }
};

// All three return "" on success, else one sentence starting with `source`.

// Walks the file's structure (top level, graph, initializers) without hashing: "not a valid ONNX file"
// for malformed or truncated bytes, the external-data refusal for initializers kept outside the file.
std::string check_structure(const std::uint8_t* data, std::size_t size, const std::string& source);

// The digests of the bytes (check_structure's checks included).
std::string compute_digests(const std::uint8_t* data, std::size_t size, const std::string& source,
                            Digests& out);

// The digests recorded in the metadata; `out` stays empty when the file records none.
std::string recorded_digests(const std::uint8_t* data, std::size_t size, const std::string& source,
                             Digests& out);

// "" when the recorded digests match the bytes; else the sentence (no digests recorded included, with
// `no_record_hint` as its advice).
std::string verify_digests(const std::uint8_t* data, std::size_t size, const std::string& source,
                           const char* no_record_hint);

}  // namespace capi
}  // namespace comix
