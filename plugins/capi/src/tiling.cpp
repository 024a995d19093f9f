// tiling.cpp — see tiling.h.
#include "tiling.h"

#include <algorithm>
#include <cmath>

namespace comix {
namespace capi {
namespace {

constexpr double kPi = 3.141592653589793;  // np.pi

// tiling.ramp: floor for `margin` pixels, then a Hann rise to 1 over overlap - margin pixels.
void ramp(double* window, int length, int overlap, int margin, double floor) {
  std::fill(window, window + length, 1.0);
  const int rise = std::max(overlap - margin, 1);
  for (int i = 0; i < std::min(overlap, length); ++i) {
    // floor + (1 - floor) * 0.5 * (1 - cos(pi * (i - margin + 0.5) / rise)), evaluated as Python does
    window[i] = i < margin
                    ? floor
                    : floor + (1.0 - floor) * 0.5 *
                                  (1.0 - std::cos(kPi * (static_cast<double>(i - margin) + 0.5) / rise));
  }
}

}  // namespace

void AxisWindows::reserve(int length) { values_.reserve(5 * static_cast<std::size_t>(length)); }

void AxisWindows::plan(int length, int overlap, int margin, double floor) {
  length_ = length;
  values_.resize(5 * static_cast<std::size_t>(length));  // 4 windows + the ramp
  double* edge = values_.data() + 4 * static_cast<std::size_t>(length);
  ramp(edge, length, overlap, margin, floor);
  for (int variant = 0; variant < 4; ++variant) {
    double* window = values_.data() + static_cast<std::size_t>(variant) * length;
    const bool begin = (variant & 1) != 0, end = (variant & 2) != 0;
    for (int i = 0; i < length; ++i) {
      double value = 1.0;
      if (begin) value = std::min(value, edge[i]);
      if (end) value = std::min(value, edge[length - 1 - i]);
      window[i] = value;
    }
  }
}

void tile_starts(int size, int tile, int overlap, std::vector<int>& starts) {
  starts.clear();
  const int stride = tile - overlap;
  for (int start = 0; start <= size - tile; start += stride) starts.push_back(start);
  if (starts.back() + tile < size) starts.push_back(size - tile);
}

void Grid::reserve(int max_tile_h, int tile_width, int width) {
  cols.reserve(static_cast<std::size_t>(std::max(width, tile_width)) + 1);
  rows.reserve(max_tile_h);
  columns.reserve(tile_width);
}

void Grid::plan(int height, int width_of_tile, int overlap_px, int width) {
  tile_h = height;
  tile_w = width_of_tile;
  overlap = overlap_px;
  margin = overlap / 4;
  stride = tile_h - overlap;
  padded_width = std::max(width, tile_w);
  tile_starts(padded_width, tile_w, overlap, cols);
  rows.plan(tile_h, overlap, margin, kWindowFloor);
  columns.plan(tile_w, overlap, margin, kWindowFloor);
}

}  // namespace capi
}  // namespace comix
