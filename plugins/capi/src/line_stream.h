// line_stream.h — the engine behind comix_stream: pushbroom lines in, finished class lines out, with the
// tiles, blending and nodata handling of comix/runtime (tiling.py, blending.py, streaming.py, nodata.py),
// so that every line's classes equal those `comix infer` writes for the same scene as a file.
//
// Rows of tiles. The runtime's rows start every stride = tile_h - overlap lines; the last one is moved back
// to end at the scene's last line, and a row's window tapers at its bottom only when lines follow it. A
// pass's length is unknown until it ends, so row `top` runs once line top + tile_h has arrived (then lines
// follow it: bottom taper) or at the end (no bottom taper; or the moved-back row at H - tile_h). Line i is
// final when every row covering it has been added: the rows up to the last that ran, and none of the rows
// still to come, which start at or after min(next regular row, H - tile_h) >= lines in - tile_h. So after
// the push of line i + tile_h, line i is final: one line out per line in, tile_h lines behind.
//
// Blending. Tiles are added in the runtime's order (row by row, left to right): sums += logits * weight
// and weights += weight in float32, weight = float32(row window * column window) computed in float64; a
// final pixel is sums / weights in float32 and its label the first largest (a NaN counts as largest, as
// np.argmax) + 1, or 0 where no tile saw a valid pixel. Batches never span rows (a row runs as soon as it
// can); which tiles share a call does not change a tile's logits (tested).
//
// Memory, all allocated in the constructor: a ring of tile_h + 1 lines (a row needs its tile_h lines and
// the one after), the blending band as a ring of tile_h lines (a row only adds to lines >= its top, and
// lines above the row being added are final), one batch of tiles, and 2 * tile_h finished lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "comix_infer.h"
#include "model.h"
#include "nearest_fill.h"
#include "tiling.h"

namespace comix {
namespace capi {

// A stream's settings after defaults and checks (resolve_stream).
struct StreamConfig {
  int width = 0, bands = 0, x_channels = 0, classes = 0;
  int tile_h = 0, tile_w = 0;  // tile_w already limited to the width for a model of any tile size
  int overlap = 0;             // as asked (Grid::plan limits it to a short pass's tile)
  int batch = 1;
  bool fixed_tile = false;   // the model takes only its tile: short or narrow passes are edge-padded
  bool fixed_batch = false;  // the model takes only `batch` tiles per call: batches are zero-padded
  bool nodata_set = false;
  float nodata = 0.0f;

  std::size_t line_floats() const {
    return static_cast<std::size_t>(bands + x_channels) * static_cast<std::size_t>(width);
  }
};

// The settings for `width`-pixel lines on this model: comix.runtime.defaults.resolve_window and
// SlidingWindow's checks. Throws Error(COMIX_BAD_INPUT) with the sentence.
StreamConfig resolve_stream(const ModelFacts& facts, int width, const comix_stream_options* options);

class LineStream {
 public:
  LineStream(comix_model& model, const StreamConfig& config);  // allocates everything

  // A line of config.line_floats() samples; the caller checked the length, that the stream is neither
  // finished nor failed and that fewer than max_waiting() lines wait. Throws Error (then failed()).
  void push(const float* line);
  // Copies up to max_lines finished lines (width bytes each) into classes; returns how many.
  int pop(unsigned char* classes, int max_lines);
  void finish();  // throws Error (then failed())
  void reset();
  void stats(comix_stream_stats& out) const;

  const StreamConfig& config() const { return config_; }
  bool finished() const { return finished_; }
  bool failed() const { return failed_; }
  const char* failure() const { return failure_; }
  long long waiting() const { return ready_; }
  int max_waiting() const { return config_.tile_h; }

 private:
  void plan_regular();
  void run_row(long long top, bool taper_begin, bool taper_end, long long lines);
  bool read_tile(long long top, int left, int slot, long long lines);
  void run_model(int kept);
  void blend(long long top, int left, int slot, bool taper_begin, bool taper_end, long long lines);
  void kick_watchdog(int tiles);
  void finalize_until(long long end);
  void finalize_line(long long line);
  template <typename Work>
  void guard(Work work);

  comix_model& model_;
  const StreamConfig config_;
  Grid grid_;
  NearestFill fill_;
  const int ring_lines_;                  // tile_h + 1
  std::vector<float> ring_;               // (ring_lines_, line_floats)
  std::vector<std::uint8_t> ring_valid_;  // (ring_lines_, width)
  std::vector<float> sums_;               // (classes, tile_h, width): line i at row i % tile_h
  std::vector<float> weights_;            // (tile_h, width)
  std::vector<std::uint8_t> band_valid_;  // (tile_h, width)
  std::vector<float> hsi_, x_, logits_;   // (batch, bands | x_channels | classes, tile_h, tile_w)
  std::vector<std::uint8_t> tile_valid_;  // (batch, tile_h, tile_w)
  std::vector<float> weight_row_;         // (tile_w): one line of a tile's window
  std::vector<int> slots_;                // (batch): a tile's slot in the model call, -1 = skipped
  std::vector<unsigned char> out_;        // (2 tile_h, width): finished lines, a ring
  long long out_first_ = 0;               // ring index of the oldest finished line
  long long ready_ = 0;                   // finished lines waiting
  long long lines_in_ = 0, lines_final_ = 0, lines_out_ = 0;
  long long next_row_ = 0;  // top of the next row of the regular grid, not yet run
  long long tiles_ = 0, tiles_skipped_ = 0, model_calls_ = 0, nodata_lines_ = 0, nodata_pixels_ = 0;
  bool finished_ = false, failed_ = false;
  char failure_[512] = "";
};

}  // namespace capi
}  // namespace comix
