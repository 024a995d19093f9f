// nearest_fill.cpp — see nearest_fill.h.
#include "nearest_fill.h"

#include <cstdlib>
#include <limits>

namespace comix {
namespace capi {
namespace {

constexpr std::int64_t kFar = std::numeric_limits<std::int64_t>::max() / 4;  // nearest_fill._FAR

}  // namespace

void NearestFill::reserve(int rows, int cols) {
  const std::size_t pixels = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  column_rows_.reserve(pixels);
  moves_.reserve(2 * pixels);
}

void NearestFill::plan(const std::uint8_t* valid, int h, int w, int row_stride) {
  moves_.clear();
  column_rows_.resize(static_cast<std::size_t>(h) * w);
  std::int64_t* nearest = column_rows_.data();
  // Down each column: the last valid row at or above, the first at or below; below only when strictly
  // nearer (_nearest_in_columns).
  for (int c = 0; c < w; ++c) {
    std::int64_t above = -kFar;
    for (int r = 0; r < h; ++r) {
      if (valid[r * row_stride + c]) above = r;
      nearest[r * w + c] = above;
    }
    std::int64_t below = kFar;
    for (int r = h - 1; r >= 0; --r) {
      if (valid[r * row_stride + c]) below = r;
      const std::int64_t up = nearest[r * w + c];
      nearest[r * w + c] = (below - r) < (r - up) ? below : up;
    }
  }
  // Along each row, for each nodata pixel: the column c' with the smallest squared distance, the first
  // (smallest c') among equals; columns without a valid pixel are infinitely far (nearest_valid).
  for (int r = 0; r < h; ++r) {
    const std::int64_t* row = nearest + static_cast<std::size_t>(r) * w;
    for (int c = 0; c < w; ++c) {
      if (valid[r * row_stride + c]) continue;
      int best = -1;
      std::int64_t best_cost = 0;
      for (int source = 0; source < w; ++source) {
        const std::int64_t found = row[source];
        if (std::llabs(found) >= kFar / 2) continue;
        const std::int64_t vertical = std::llabs(found - r), horizontal = c - source;
        const std::int64_t cost = vertical * vertical + horizontal * horizontal;
        if (best < 0 || cost < best_cost) best = source, best_cost = cost;
      }
      moves_.push_back(static_cast<std::size_t>(r) * row_stride + c);
      moves_.push_back(static_cast<std::size_t>(row[best]) * row_stride + best);
    }
  }
}

void NearestFill::apply(float* planes, int count, std::size_t plane_stride) const {
  // Sources are valid pixels, never written here: the order of the copies does not matter.
  for (int p = 0; p < count; ++p) {
    float* plane = planes + p * plane_stride;
    for (std::size_t i = 0; i < moves_.size(); i += 2) plane[moves_[i]] = plane[moves_[i + 1]];
  }
}

}  // namespace capi
}  // namespace comix
