// mapped_file.h — a model file mapped read-only (mmap): hashed and parsed in place, never copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace comix {
namespace capi {

class MappedFile {
 public:
  // Throws Error(COMIX_BAD_INPUT) for a missing, unreadable or non-regular file; `what` names it in
  // messages ("model file", ...).
  MappedFile(const std::string& path, const char* what);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  // Gives the pages back now (the object stays valid, with size 0).
  void release();

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Base name of a path ("/a/b/model.onnx" -> "model.onnx"), as messages quote it.
std::string base_name(const std::string& path);

}  // namespace capi
}  // namespace comix
