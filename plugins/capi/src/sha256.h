// sha256.h — SHA-256 (FIPS 180-4), streaming, for the model digests.
//
// Written here rather than taken from OpenSSL so that the flight runtime needs no library beyond ONNX
// Runtime on the target (and none in the aarch64 cross-build's sysroot). Checked against Python's
// hashlib on the NIST vectors and on every length from 0 to 300 bytes (tests/capi/test_digests.py).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace comix {
namespace capi {

class Sha256 {
 public:
  Sha256();
  void update(const std::uint8_t* data, std::size_t size);
  // The 32-byte digest; the object must not be updated afterwards.
  void finish(std::uint8_t digest[32]);
  // finish() as 64 lowercase hex characters.
  std::string hex();

 private:
  void compress(const std::uint8_t block[64]);
  std::uint32_t state_[8];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;  // bytes
};

}  // namespace capi
}  // namespace comix
