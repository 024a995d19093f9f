// nearest_fill.h — the runtime's `nearest` nodata fill (comix/runtime/nearest_fill.py + nodata.py) for one
// tile: every nodata pixel takes the values of the nearest valid pixel of the tile (exact Euclidean
// distance), ties broken as the Python code breaks them — the smallest column, and in that column the upper
// row — so the model sees what `comix infer` gives it, bit for bit.
//
// The same two separable passes: down each column the nearest valid row (the upper one on a tie), then
// along each row the column c' minimising vertical(c')^2 + (c - c')^2 (the first minimum). Integer
// arithmetic: the distances are small integers, exact in Python's float64 as here. Cost O(h w^2) for a tile
// with holes (only the nodata pixels search), nothing for a tile without.
#pragma once

#include <cstdint>
#include <vector>

namespace comix {
namespace capi {

class NearestFill {
 public:
  // Allocates the scratch for tiles up to rows x cols.
  void reserve(int rows, int cols);

  // Finds the source of every nodata pixel of an h x w block: valid (r, c) at valid[r * row_stride + c]
  // (1 = valid), at least one valid pixel. Allocates nothing within the reserved size.
  void plan(const std::uint8_t* valid, int h, int w, int row_stride);

  // Copies the planned sources into the nodata pixels of `count` planes laid out like valid, plane p at
  // planes + p * plane_stride.
  void apply(float* planes, int count, std::size_t plane_stride) const;

 private:
  std::vector<std::int64_t> column_rows_;  // (h, w): nearest valid row in the same column, or far away
  std::vector<std::size_t> moves_;         // (to, from) offsets within a plane, one pair per nodata pixel
};

}  // namespace capi
}  // namespace comix
