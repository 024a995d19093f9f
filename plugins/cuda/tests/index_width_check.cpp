// tests/index_width_check.cpp — the 32/64-bit index choice of comix_dcn/layout.h, at its boundary.
//
// Test-only driver for tests/plugins/test_dcn_index_width.py (host C++, no CUDA needed). Reads one call
// per line from stdin:
//   ND N C O [D] H W [oD] oH oW [kD] kH kW GROUP OFFSET_GROUP COLUMN_SAMPLES
// (the bracketed fields only when ND = 3) and prints one JSON object per line with the largest element
// count and needs_64bit_index() for it; the first line printed holds the constants.
#include <cstdint>
#include <cstdio>
#include <iostream>

#include "comix_dcn/layout.h"

int main() {
  using namespace comix::dcn;
  std::printf("{\"headroom\": %lld, \"max_count\": %lld}\n", static_cast<long long>(kInt32IndexHeadroom),
              static_cast<long long>(kInt32IndexMaxCount));
  int64_t nd = 0;
  while (std::cin >> nd) {
    int64_t largest = 0;
    bool wide = false;
    if (nd == 2) {
      DeformConv2DShape s;
      DeformConv2DGeometry g;
      int64_t samples = 1;
      std::cin >> s.batch >> s.channels >> s.out_channels >> s.height >> s.width >> s.out_height >>
          s.out_width >> g.kernel_h >> g.kernel_w >> g.group >> g.offset_group >> samples;
      largest = largest_element_count(s, g, samples);
      wide = needs_64bit_index(s, g, samples);
    } else if (nd == 3) {
      DeformConv3DShape s;
      DeformConv3DGeometry g;
      int64_t samples = 1;
      std::cin >> s.batch >> s.channels >> s.out_channels >> s.depth >> s.height >> s.width >> s.out_depth >>
          s.out_height >> s.out_width >> g.kernel_d >> g.kernel_h >> g.kernel_w >> g.group >>
          g.offset_group >> samples;
      largest = largest_element_count(s, g, samples);
      wide = needs_64bit_index(s, g, samples);
    } else {
      std::fprintf(stderr, "index_width_check: ND: got %lld, expected 2 or 3\n", static_cast<long long>(nd));
      return 2;
    }
    if (!std::cin) {
      std::fprintf(stderr,
                   "index_width_check: got a short line, expected all fields (see the file header)\n");
      return 2;
    }
    std::printf("{\"largest\": %lld, \"wide\": %s}\n", static_cast<long long>(largest),
                wide ? "true" : "false");
  }
  return 0;
}
