// record.h — the few fields of the model record (comix/metadata.py) the C API reads.
#pragma once

#include "model.h"

namespace comix {
namespace capi {

// The record schema this build reads (comix/metadata.py SCHEMA_VERSION); a newer record is refused.
constexpr int kRecordSchemaVersion = 3;

// Fills facts.info.task / name and facts.class_names from facts.metadata (defaults as ModelRecord's:
// "segmentation", "unknown"). Throws Error(COMIX_BAD_INPUT) for a newer schema or unreadable names.
void read_record(const std::string& source, ModelFacts& facts);

// Copies `text` into dest[size] NUL-terminated, cut at a UTF-8 character boundary.
void copy_truncated(const std::string& text, char* dest, std::size_t size);

}  // namespace capi
}  // namespace comix
