// record.cpp — task, name, class names and schema version from the record's comix.* entries.
#include "record.h"

#include <cstdlib>
#include <cstring>

#include "errors.h"
#include "json_text.h"

namespace comix {
namespace capi {
namespace {

const std::string* find(const ModelFacts& facts, const char* key) {
  for (const auto& entry : facts.metadata) {
    if (entry.first == key) return &entry.second;
  }
  return nullptr;
}

}  // namespace

void copy_truncated(const std::string& text, char* dest, std::size_t size) {
  if (size == 0) return;
  std::size_t n = text.size() < size - 1 ? text.size() : size - 1;
  // never cut a UTF-8 sequence: back up over continuation bytes of a cut character
  if (n < text.size()) {
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(dest, text.data(), n);
  dest[n] = '\0';
}

void read_record(const std::string& source, ModelFacts& facts) {
  const std::string* version = find(facts, "comix.schema_version");
  if (version != nullptr) {
    char* end = nullptr;
    const long value = std::strtol(version->c_str(), &end, 10);
    if (end == version->c_str() || *end != '\0') {
      bad_input(source + ": model record: comix.schema_version: got '" + *version + "', expected an integer");
    }
    if (value > kRecordSchemaVersion) {
      bad_input(
          source + ": model record: got schema version " + *version +
          ", expected <= " + std::to_string(kRecordSchemaVersion) +
          "; the artifact was made by a newer comix-deploy: upgrade the runtime, or re-export the model");
    }
  }
  const std::string* task = find(facts, "comix.task");
  const std::string* name = find(facts, "comix.model_name");
  copy_truncated(task ? *task : "segmentation", facts.info.task, sizeof(facts.info.task));
  copy_truncated(name ? *name : "unknown", facts.info.name, sizeof(facts.info.name));
  const std::string* names = find(facts, "comix.class_names");
  if (names != nullptr) {
    const std::string error = json::string_array(*names, facts.class_names);
    if (!error.empty()) bad_input(source + ": model record: comix.class_names: " + error);
  }
  if (!facts.class_names.empty() &&
      facts.class_names.size() != static_cast<std::size_t>(facts.info.classes)) {
    bad_input(source + ": model record: got " + std::to_string(facts.class_names.size()) +
              " class names, expected " + std::to_string(facts.info.classes) +
              " (the graph's output channels)");
  }
}

}  // namespace capi
}  // namespace comix
