// tiling.h — the tile grid and blending windows of comix/runtime/tiling.py, for one band of tiles whose
// height is not known in advance (a pushbroom pass). The same arithmetic in the same precision: starts as
// tile_starts(), windows as ramp()/axis_window() in float64 (std::cos, as math.cos and NumPy's scalar cos
// give here), each tile's weight float32(row * column) as np.outer(...).astype(float32).
//
// Compile with -ffp-contract=off (CMakeLists.txt): a fused multiply-add would round differently from
// NumPy's separate multiply and add.
#pragma once

#include <vector>

namespace comix {
namespace capi {

constexpr double kWindowFloor = 1e-3;  // tiling.DEFAULT_FLOOR

// The four windows of one axis of a tile (length pixels): flat 1, or tapered at the begin and/or the
// end (the sides facing a neighbouring tile), as tiling.axis_window.
class AxisWindows {
 public:
  void reserve(int length);  // allocates; plan() up to that length allocates nothing
  void plan(int length, int overlap, int margin, double floor);
  const double* get(bool taper_begin, bool taper_end) const {
    return values_.data() + (static_cast<int>(taper_begin) + 2 * static_cast<int>(taper_end)) * length_;
  }

 private:
  std::vector<double> values_;  // (5, length): the 4 windows (taper_begin + 2 * taper_end), the ramp
  int length_ = 0;
};

// Start offsets along an axis of `size` pixels (>= tile) into `starts` (within its capacity), as
// tiling.tile_starts: every stride = tile - overlap, plus the last tile moved back to end at the edge.
void tile_starts(int size, int tile, int overlap, std::vector<int>& starts);

// The grid of one stream: tile size, overlap (already limited to the tile as TilePlan.for_scene does),
// margin = overlap / 4, the tile columns across the padded width, and the row and column windows.
struct Grid {
  int tile_h = 0, tile_w = 0, overlap = 0, margin = 0, stride = 1;
  int padded_width = 0;  // max(width, tile_w): a fixed-tile model pads a narrower line
  std::vector<int> cols;
  AxisWindows rows, columns;

  void reserve(int max_tile_h, int tile_w, int width);
  void plan(int tile_h, int tile_w, int overlap, int width);
};

}  // namespace capi
}  // namespace comix
