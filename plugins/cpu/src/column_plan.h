// column_plan.h — sizes and channel bookkeeping of one CPU DCN call, dimension-generic.
//
// Column buffer layout for a block of output positions (row = one position):
//   col[pi][group][k][c_in_group]      row length CK = C*K, group block length KCg = K*(C/group)
// so the GEMM of group g reads a contiguous KCg-wide slice of every row.
// A "segment" is a run of input channels that share both one offset group and one group: all of its
// channels are sampled at the same point and land contiguously in the column row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace comix {
namespace dcn {
namespace cpu {

struct ChannelSegment {
  int64_t group;       // conv group of these channels
  int64_t begin, end;  // input channel range [begin, end)
};

struct ColumnPlan {
  int64_t batch = 0, channels = 0, out_channels = 0;
  int64_t group = 1, offset_group = 1;
  int64_t kernel_points = 1;                          // K
  int64_t in_plane = 0;                               // prod(S)
  int64_t out_plane = 0;                              // prod(oS) = P
  int64_t channels_per_group = 0;                     // Cg
  int64_t out_channels_per_group = 0;                 // Og
  int64_t channels_per_offset_group = 0;              // Cog
  int64_t row = 0;                                    // C*K (column row length)
  int64_t group_row = 0;                              // K*Cg
  int64_t block = 0;                                  // output positions per block
  std::vector<std::vector<ChannelSegment>> segments;  // [offset_group] -> segments

  int64_t blocks() const { return block > 0 ? (out_plane + block - 1) / block : 0; }
};

// Fills the derived fields from the basic sizes (batch .. out_plane must be set).
inline void finish_plan(ColumnPlan& plan) {
  plan.channels_per_group = plan.channels / plan.group;
  plan.out_channels_per_group = plan.out_channels / plan.group;
  plan.channels_per_offset_group = plan.channels / plan.offset_group;
  plan.row = plan.channels * plan.kernel_points;
  plan.group_row = plan.channels_per_group * plan.kernel_points;
  // ~256 KiB of columns per block keeps a block in L2 while the GEMM streams it.
  const int64_t target_floats = 64 * 1024;
  int64_t block = plan.row > 0 ? target_floats / plan.row : 512;
  block = block < 16 ? 16 : (block > 512 ? 512 : block);
  block -= block % 8;
  plan.block = block;
  // clear() keeps each list's capacity: a plan reused for the same sizes allocates nothing
  plan.segments.resize(static_cast<size_t>(plan.offset_group));
  for (auto& list : plan.segments) list.clear();
  for (int64_t og = 0; og < plan.offset_group; ++og) {
    int64_t c = og * plan.channels_per_offset_group;
    const int64_t end = c + plan.channels_per_offset_group;
    while (c < end) {
      const int64_t g = c / plan.channels_per_group;
      const int64_t group_end = (g + 1) * plan.channels_per_group;
      const int64_t seg_end = group_end < end ? group_end : end;
      plan.segments[static_cast<size_t>(og)].push_back(ChannelSegment{g, c, seg_end});
      c = seg_end;
    }
  }
}

}  // namespace cpu
}  // namespace dcn
}  // namespace comix
