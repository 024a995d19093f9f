// line_stream.cpp — see line_stream.h.
#include "line_stream.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

#include "errors.h"

namespace comix {
namespace capi {
namespace {

constexpr int kDefaultTile = 128;               // comix.tiles.DEFAULT_TILE
constexpr int kMaxClasses = 254;                // labels 1..K in a uint8, 0 = no data
constexpr int kMaxTile = 65536;                 // tile sides: a ring of tile_h + 1 lines fits an int
constexpr std::size_t kMaxFloats = 1ULL << 40;  // the largest buffer, as comix_run allows

std::string tile_text(int h, int w) { return std::to_string(h) + "x" + std::to_string(w); }

// a * b, refused past kMaxFloats (or on overflow) with a sentence naming `what`.
std::size_t product(std::size_t a, std::size_t b, const char* what) {
  if (a != 0 && b > kMaxFloats / a) {
    bad_input(std::string("comix_stream_open: got sizes whose ") + what +
              " would exceed 2^40 floats, expected smaller lines or tiles");
  }
  return a * b;
}

int flag(int value, const char* name) {
  if (value != 0 && value != 1) {
    bad_input(std::string("comix_stream_open: options.") + name + ": got " + std::to_string(value) +
              ", expected 0 or 1");
  }
  return value;
}

}  // namespace

StreamConfig resolve_stream(const ModelFacts& facts, int width, const comix_stream_options* options) {
  const comix_info& info = facts.info;
  const comix_stream_options defaults{};
  const comix_stream_options& asked = options != nullptr ? *options : defaults;
  if (std::strcmp(info.task, "segmentation") != 0) {
    bad_input(std::string("comix_stream_open: got a model whose task is '") + info.task +
              "', expected a segmentation model (a class per pixel)");
  }
  if (info.classes > kMaxClasses) {
    bad_input("comix_stream_open: got a model with " + std::to_string(info.classes) +
              " classes, expected at most " + std::to_string(kMaxClasses) +
              " (a class line is uint8 labels)");
  }
  if (width < 1)
    bad_input("comix_stream_open: width: got " + std::to_string(width) + ", expected >= 1 pixels");
  if (asked.tile_height < 0 || asked.tile_width < 0) {
    bad_input("comix_stream_open: options.tile_height x tile_width: got " +
              tile_text(asked.tile_height, asked.tile_width) +
              ", expected sizes >= 1 (or 0 for the default)");
  }
  if (asked.tile_height > kMaxTile || asked.tile_width > kMaxTile) {
    bad_input("comix_stream_open: options.tile_height x tile_width: got " +
              tile_text(asked.tile_height, asked.tile_width) + ", expected sides of at most " +
              std::to_string(kMaxTile) + " pixels");
  }
  if (asked.tile_height == 0 && asked.tile_width != 0) {
    bad_input("comix_stream_open: options.tile_width: got " + std::to_string(asked.tile_width) +
              " with tile_height 0, expected a tile_height too (0 and 0 = the default tile)");
  }
  const bool fixed_tile = info.tile_height > 0;
  StreamConfig config;
  config.width = width;
  config.bands = info.bands;
  config.x_channels = info.x_channels;
  config.classes = info.classes;
  int tile_h = asked.tile_height, tile_w = asked.tile_width != 0 ? asked.tile_width : asked.tile_height;
  if (tile_h == 0) {
    tile_h = fixed_tile ? info.tile_height : kDefaultTile;
    tile_w = fixed_tile ? info.tile_width : kDefaultTile;
  }
  if (fixed_tile && (tile_h != info.tile_height || tile_w != info.tile_width)) {
    bad_input(
        "comix_stream_open: tile: got " + tile_text(tile_h, tile_w) + ", expected " +
        tile_text(info.tile_height, info.tile_width) +
        " because the model was exported with static shapes (re-export with --dynamic for other tiles)");
  }
  const int smaller = std::min(tile_h, tile_w);
  const int overlap = flag(asked.overlap_set, "overlap_set") ? asked.overlap : (3 * smaller) / 8;
  if (overlap < 0 || overlap >= smaller) {
    bad_input("comix_stream_open: options.overlap: got " + std::to_string(overlap) +
              ", expected 0 <= overlap < " + std::to_string(smaller) + " (the smaller side of the " +
              tile_text(tile_h, tile_w) + " tile)");
  }
  if (asked.batch < 0) {
    bad_input("comix_stream_open: options.batch: got " + std::to_string(asked.batch) +
              ", expected >= 1 (or 0 for the default)");
  }
  int batch = asked.batch != 0 ? asked.batch : (facts.fixed_batch > 0 ? facts.fixed_batch : 1);
  if (facts.fixed_batch > 0 && batch != facts.fixed_batch) {
    bad_input("comix_stream_open: options.batch: got " + std::to_string(batch) + ", expected " +
              std::to_string(facts.fixed_batch) + " because the model was exported with a static batch");
  }
  if (flag(asked.nodata_set, "nodata_set") && !std::isnan(asked.nodata)) {
    if (std::fabs(asked.nodata) > FLT_MAX) {
      char text[64];
      std::snprintf(text, sizeof(text), "%g", asked.nodata);
      bad_input(std::string("comix_stream_open: options.nodata: got ") + text +
                ", expected a value a float32 sample can hold (|value| <= 3.4e38)");
    }
    config.nodata_set = true;
    config.nodata = static_cast<float>(asked.nodata);
  }
  config.tile_h = tile_h;
  config.tile_w = fixed_tile ? tile_w : std::min(tile_w, width);  // TilePlan.for_scene
  config.overlap = overlap;
  config.batch = batch;
  config.fixed_tile = fixed_tile;
  config.fixed_batch = facts.fixed_batch > 0;
  // Every buffer's size must stay well inside the address space (comix_run's limit).
  const std::size_t plane = product(config.tile_h, config.tile_w, "tile");
  const int channels = std::max({config.bands, config.x_channels, config.classes});
  product(product(plane, channels, "batch of tiles"), config.batch, "batch of tiles");
  product(product(config.line_floats(), config.tile_h + 1, "ring of lines"), 1, "ring of lines");
  product(product(config.classes, config.tile_h, "blending band"), width, "blending band");
  return config;
}

LineStream::LineStream(comix_model& model, const StreamConfig& config)
    : model_(model), config_(config), ring_lines_(config.tile_h + 1) {
  const std::size_t width = config.width, th = config.tile_h, batch = config.batch;
  const std::size_t plane = th * static_cast<std::size_t>(config.tile_w);
  ring_.assign(static_cast<std::size_t>(ring_lines_) * config.line_floats(), 0.0f);
  ring_valid_.assign(static_cast<std::size_t>(ring_lines_) * width, 0);
  sums_.assign(static_cast<std::size_t>(config.classes) * th * width, 0.0f);
  weights_.assign(th * width, 0.0f);
  band_valid_.assign(th * width, 0);
  hsi_.assign(batch * config.bands * plane, 0.0f);
  x_.assign(std::max<std::size_t>(batch * config.x_channels * plane, 1), 0.0f);
  logits_.assign(batch * config.classes * plane, 0.0f);
  tile_valid_.assign(batch * plane, 0);
  weight_row_.assign(config.tile_w, 0.0f);
  slots_.assign(batch, -1);
  out_.assign(2 * th * width, 0);
  grid_.reserve(config.tile_h, config.tile_w, config.width);
  fill_.reserve(config.tile_h, config.tile_w);
  plan_regular();
}

void LineStream::plan_regular() {
  const int overlap = std::min(config_.overlap, std::max(0, std::min(config_.tile_h, config_.tile_w) - 1));
  grid_.plan(config_.tile_h, config_.tile_w, overlap, config_.width);
}

template <typename Work>
void LineStream::guard(Work work) {
  try {
    work();
  } catch (const std::exception& error) {
    failed_ = true;
    std::snprintf(failure_, sizeof(failure_), "%s", error.what());
    throw;
  } catch (...) {
    failed_ = true;
    std::snprintf(failure_, sizeof(failure_), "unknown exception");
    throw;
  }
}

void LineStream::push(const float* line) {
  guard([&] {
    const std::size_t width = config_.width, slot = lines_in_ % ring_lines_;
    float* stored = ring_.data() + slot * config_.line_floats();
    std::uint8_t* valid = ring_valid_.data() + slot * width;
    std::memcpy(stored, line, config_.line_floats() * sizeof(float));
    // comix.data.windowed.valid_pixels: every sample finite and none equal to the nodata value.
    std::fill(valid, valid + width, std::uint8_t{1});
    for (int plane = 0; plane < config_.bands + config_.x_channels; ++plane) {
      const float* values = stored + plane * width;
      for (std::size_t c = 0; c < width; ++c) {
        const float value = values[c];
        if (!std::isfinite(value) || (config_.nodata_set && value == config_.nodata)) valid[c] = 0;
      }
    }
    const long long invalid = static_cast<long long>(width) - std::count(valid, valid + width, 1);
    nodata_pixels_ += invalid;
    nodata_lines_ += invalid == static_cast<long long>(width);
    ++lines_in_;
    // Row next_row_ has all its lines and one more (so it is not the last row): run it.
    if (lines_in_ >= next_row_ + grid_.tile_h + 1) {
      run_row(next_row_, next_row_ > 0, true, lines_in_);
      next_row_ += grid_.stride;
    }
    finalize_until(std::min(lines_in_ - grid_.tile_h, next_row_));
  });
}

void LineStream::finish() {
  if (finished_) return;
  guard([&] {
    const long long height = lines_in_, th = config_.tile_h;
    if (height > 0) {
      if (height < th) {  // a pass shorter than a tile: TilePlan.for_scene on a short scene
        if (!config_.fixed_tile) {
          const int h = static_cast<int>(height);
          grid_.plan(h, config_.tile_w,
                     std::min(config_.overlap, std::max(0, std::min(h, config_.tile_w) - 1)), config_.width);
        }
        run_row(0, false, false, height);
      } else if (next_row_ + th == height) {  // the regular grid ends exactly at the last line
        run_row(next_row_, next_row_ > 0, false, height);
      } else {  // the last row moved back to end at the last line (tile_starts)
        run_row(height - th, true, false, height);
      }
    }
    finalize_until(height);
    finished_ = true;
  });
}

void LineStream::run_row(long long top, bool taper_begin, bool taper_end, long long lines) {
  const int columns = static_cast<int>(grid_.cols.size());
  for (int first = 0; first < columns; first += config_.batch) {
    const int count = std::min(config_.batch, columns - first);
    int kept = 0;
    for (int i = 0; i < count; ++i)
      slots_[i] = read_tile(top, grid_.cols[first + i], kept, lines) ? kept++ : -1;
    if (kept > 0) {
      try {
        run_model(kept);
      } catch (const Error& error) {  // say where in the pass
        throw Error(error.code(), "the row of tiles at line " + std::to_string(top) + ": " + error.what());
      }
    }
    for (int i = 0; i < count; ++i) {
      if (slots_[i] >= 0) {
        blend(top, grid_.cols[first + i], slots_[i], taper_begin, taper_end, lines);
      } else {
        ++tiles_skipped_;
      }
    }
    tiles_ += count;
    kick_watchdog(count);
  }
}

// streaming.TileReader: the part of the tile inside the pass, nodata filled, then edge-padded to the tile.
bool LineStream::read_tile(long long top, int left, int slot, long long lines) {
  const int th = grid_.tile_h, tw = grid_.tile_w, bands = config_.bands, xs = config_.x_channels;
  const std::size_t width = config_.width, plane = static_cast<std::size_t>(th) * tw;
  const int h = static_cast<int>(std::min<long long>(th, lines - top));
  const int w = std::min(tw, config_.width - left);
  float* hsi = hsi_.data() + slot * bands * plane;
  float* x = x_.data() + slot * xs * plane;
  std::uint8_t* valid = tile_valid_.data() + slot * plane;
  std::size_t found = 0;
  for (int i = 0; i < h; ++i) {
    const std::size_t ring_line = (top + i) % ring_lines_;
    const float* line = ring_.data() + ring_line * config_.line_floats() + left;
    const std::size_t at = static_cast<std::size_t>(i) * tw;
    for (int b = 0; b < bands; ++b) std::memcpy(hsi + b * plane + at, line + b * width, w * sizeof(float));
    for (int c = 0; c < xs; ++c)
      std::memcpy(x + c * plane + at, line + (bands + c) * width, w * sizeof(float));
    const std::uint8_t* line_valid = ring_valid_.data() + ring_line * width + left;
    std::memcpy(valid + at, line_valid, w);
    found += std::count(line_valid, line_valid + w, 1);
  }
  if (found == 0) return false;  // no valid pixel: not run (LocalTileRunner)
  if (found < static_cast<std::size_t>(h) * w) {
    fill_.plan(valid, h, w, tw);
    fill_.apply(hsi, bands, plane);
    fill_.apply(x, xs, plane);
  }
  // np.pad(mode="edge") past the pass's last line or column; padded pixels are not valid.
  for (float* planes : {hsi, x}) {
    const int count = planes == hsi ? bands : xs;
    for (int p = 0; p < count; ++p) {
      float* values = planes + p * plane;
      for (int i = 0; i < h; ++i)
        std::fill(values + i * tw + w, values + (i + 1) * tw, values[i * tw + w - 1]);
      for (int i = h; i < th; ++i) std::memcpy(values + i * tw, values + (h - 1) * tw, tw * sizeof(float));
    }
  }
  for (int i = 0; i < h; ++i) std::fill(valid + i * tw + w, valid + (i + 1) * tw, std::uint8_t{0});
  std::fill(valid + static_cast<std::size_t>(h) * tw, valid + plane, std::uint8_t{0});
  return true;
}

void LineStream::run_model(int kept) {
  const std::size_t plane = static_cast<std::size_t>(grid_.tile_h) * grid_.tile_w;
  int batch = kept;
  if (config_.fixed_batch) {  // LocalTileRunner: a static batch is always full, zero-padded
    std::fill(hsi_.begin() + kept * config_.bands * plane,
              hsi_.begin() + config_.batch * config_.bands * plane, 0.0f);
    std::fill(x_.begin() + kept * config_.x_channels * plane,
              x_.begin() + config_.batch * config_.x_channels * plane, 0.0f);
    batch = config_.batch;
  }
  std::lock_guard<std::mutex> lock(model_.mutex);
  model_.backend->run(hsi_.data(), config_.x_channels > 0 ? x_.data() : nullptr, batch, grid_.tile_h,
                      grid_.tile_w, logits_.data());
  ++model_calls_;
}

// BlendingBand.add: the tile's lines inside the pass and columns inside the line.
void LineStream::blend(long long top, int left, int slot, bool taper_begin, bool taper_end, long long lines) {
  const int th = grid_.tile_h, tw = grid_.tile_w, band = config_.tile_h;
  const std::size_t width = config_.width, plane = static_cast<std::size_t>(th) * tw;
  const int h = static_cast<int>(std::min<long long>(th, lines - top));
  const int w = std::min(tw, config_.width - left);
  const double* rows = grid_.rows.get(taper_begin, taper_end);
  const double* cols = grid_.columns.get(left > 0, left + tw < grid_.padded_width);
  const float* logits = logits_.data() + static_cast<std::size_t>(slot) * config_.classes * plane;
  const std::uint8_t* valid = tile_valid_.data() + slot * plane;
  float* weight = weight_row_.data();
  for (int i = 0; i < h; ++i) {
    const std::size_t row = (top + i) % band, at = static_cast<std::size_t>(i) * tw;
    for (int j = 0; j < w; ++j) weight[j] = static_cast<float>(rows[i] * cols[j]);  // np.outer, then float32
    std::uint8_t* band_valid = band_valid_.data() + row * width + left;
    for (int j = 0; j < w; ++j) band_valid[j] |= valid[at + j];
    for (int k = 0; k < config_.classes; ++k) {
      float* sums = sums_.data() + (k * static_cast<std::size_t>(band) + row) * width + left;
      const float* values = logits + k * plane + at;
      for (int j = 0; j < w; ++j) {
        const float term = values[j] * weight[j];  // rounded to float32 before the sum, as NumPy does
        sums[j] += term;
      }
    }
    float* weights = weights_.data() + row * width + left;
    for (int j = 0; j < w; ++j) weights[j] += weight[j];
  }
}

void LineStream::kick_watchdog(int tiles) {
  std::lock_guard<std::mutex> lock(model_.mutex);
  for (int i = 0; i < tiles; ++i) {
    ++model_.tiles_done;
    if (model_.watchdog != nullptr) model_.watchdog(model_.watchdog_user, model_.tiles_done);
  }
}

void LineStream::finalize_until(long long end) {
  while (lines_final_ < end) finalize_line(lines_final_++);
}

// BlendingBand.pop + label_raster: sums / weights in float32 where valid, the first largest + 1, else 0.
void LineStream::finalize_line(long long line) {
  const std::size_t width = config_.width, band = config_.tile_h, row = line % band;
  const std::size_t out_lines = out_.size() / width;
  unsigned char* out = out_.data() + ((out_first_ + ready_) % out_lines) * width;
  float* weights = weights_.data() + row * width;
  std::uint8_t* valid = band_valid_.data() + row * width;
  const std::size_t class_stride = band * width;
  const float* sums = sums_.data() + row * width;
  for (std::size_t c = 0; c < width; ++c) {
    if (!valid[c]) {
      out[c] = 0;
      continue;
    }
    const float weight = weights[c];
    int best = 0;
    if (weight > 0) {  // else NaN everywhere (np.divide's where): argmax 0
      float top = sums[c] / weight;
      for (int k = 1; k < config_.classes && !std::isnan(top); ++k) {
        const float value = sums[k * class_stride + c] / weight;
        if (std::isnan(value) || value > top) best = k, top = value;
      }
    }
    out[c] = static_cast<unsigned char>(best + 1);
  }
  for (int k = 0; k < config_.classes; ++k)
    std::fill_n(sums_.data() + k * class_stride + row * width, width, 0.0f);
  std::fill_n(weights, width, 0.0f);
  std::fill_n(valid, width, std::uint8_t{0});
  ++ready_;
}

int LineStream::pop(unsigned char* classes, int max_lines) {
  const std::size_t width = config_.width, out_lines = out_.size() / width;
  const int count = static_cast<int>(std::min<long long>(max_lines, ready_));
  for (int i = 0; i < count; ++i) {
    std::memcpy(classes + i * width, out_.data() + (out_first_ % out_lines) * width, width);
    out_first_ = (out_first_ + 1) % out_lines;
  }
  ready_ -= count;
  lines_out_ += count;
  return count;
}

void LineStream::reset() {
  plan_regular();
  std::fill(sums_.begin(), sums_.end(), 0.0f);
  std::fill(weights_.begin(), weights_.end(), 0.0f);
  std::fill(band_valid_.begin(), band_valid_.end(), std::uint8_t{0});
  out_first_ = ready_ = 0;
  lines_in_ = lines_final_ = lines_out_ = next_row_ = 0;
  tiles_ = tiles_skipped_ = model_calls_ = nodata_lines_ = nodata_pixels_ = 0;
  finished_ = failed_ = false;
  failure_[0] = '\0';
}

void LineStream::stats(comix_stream_stats& out) const {
  out.lines_in = lines_in_;
  out.lines_out = lines_out_;
  out.lines_ready = ready_;
  out.tiles = tiles_;
  out.tiles_skipped = tiles_skipped_;
  out.model_calls = model_calls_;
  out.nodata_lines = nodata_lines_;
  out.nodata_pixels = nodata_pixels_;
  out.width = config_.width;
  out.tile_height = grid_.tile_h;
  out.tile_width = grid_.tile_w;
  out.overlap = grid_.overlap;
  out.batch = config_.batch;
  out.finished = finished_ ? 1 : 0;
  out.line_floats = config_.line_floats();
}

}  // namespace capi
}  // namespace comix
