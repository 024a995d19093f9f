// json_text.h — the little JSON the C API reads: string arrays and object members of the model record
// (class names in the ONNX metadata; the record beside a TensorRT engine). Not a general JSON library:
// it validates what it walks and reports one sentence on malformed text.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace comix {
namespace capi {
namespace json {

// ["a", "b"] -> {"a", "b"} (escapes decoded, \uXXXX to UTF-8). Returns "" or an error sentence.
std::string string_array(const std::string& text, std::vector<std::string>& out);

// (name, raw JSON text of the value) of every member of the object `text`, in order.
std::string members(const std::string& text, std::vector<std::pair<std::string, std::string>>& out);

// The raw JSON text of member `key` of the object `text`; found = false (and no error) when absent.
std::string member(const std::string& text, const std::string& key, std::string& out, bool& found);

// The decoded value of a JSON string literal (e.g. a member's raw text).
std::string string_value(const std::string& text, std::string& out);

}  // namespace json
}  // namespace capi
}  // namespace comix
