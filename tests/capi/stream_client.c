/* stream_client.c — a pushbroom loop written against comix_infer.h only: streams a scene line by line and
 * records when each line's classes came out.
 *
 *   stream_client MODEL LINES HEIGHT WIDTH CLASSES_OUT OUT_AT TILE_H TILE_W OVERLAP BATCH NODATA THREADS
 *
 *   LINES        HEIGHT lines of (bands + x_channels) x WIDTH float32 (band-interleaved by line)
 *   CLASSES_OUT  written: HEIGHT x WIDTH uint8 labels, in the order the lines came out
 *   OUT_AT       written: HEIGHT int32, for each line the number of lines pushed when it came out
 *                (-1: after comix_stream_finish)
 *   TILE_H TILE_W BATCH  0 = default;  OVERLAP -1 = default;  NODATA "none" or a value;  THREADS >= 1
 *
 * After every push it pops whatever is finished. Prints key=value lines: the stream's counters, the
 * watchdog's calls and last count, the settings in use and the process's peak resident memory. Exit 0 done, 2
 * bad input, 1 failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comix_infer.h"

static void kick(void* user_data, long long tiles_done) {
  long long* kicks = (long long*)user_data;
  kicks[0] += 1;
  kicks[1] = tiles_done;
}

static int fail(const char* what, int status) {
  fprintf(stderr, "stream_client: %s: %s\n", what, comix_last_error());
  return status == COMIX_BAD_INPUT ? 2 : 1;
}

int main(int argc, char** argv) {
  if (argc != 13) {
    fprintf(stderr,
            "usage: stream_client MODEL LINES HEIGHT WIDTH CLASSES_OUT OUT_AT TILE_H TILE_W "
            "OVERLAP BATCH NODATA THREADS\n");
    return 2;
  }
  const long height = atol(argv[3]);
  const int width = atoi(argv[4]);
  comix_options options = {atoi(argv[12]), 0, "cpu"};
  comix_model* model = NULL;
  int status = comix_open(argv[1], &options, &model);
  if (status != COMIX_OK) return fail("comix_open", status);
  long long kicks[2] = {0, 0};
  comix_set_watchdog(model, kick, kicks);
  comix_info info;
  comix_get_info(model, &info);

  comix_stream_options stream_options;
  memset(&stream_options, 0, sizeof stream_options);
  stream_options.tile_height = atoi(argv[7]);
  stream_options.tile_width = atoi(argv[8]);
  stream_options.overlap_set = atoi(argv[9]) >= 0;
  stream_options.overlap = atoi(argv[9]);
  stream_options.batch = atoi(argv[10]);
  if (strcmp(argv[11], "none") != 0) {
    stream_options.nodata_set = 1;
    stream_options.nodata = atof(argv[11]);
  }
  comix_stream* stream = NULL;
  status = comix_stream_open(model, width, &stream_options, &stream);
  if (status != COMIX_OK) return fail("comix_stream_open", status);

  const size_t floats = (size_t)(info.bands + info.x_channels) * (size_t)width;
  float* line = malloc(floats * sizeof(float));
  unsigned char* classes = malloc((size_t)(height > 0 ? height : 1) * (size_t)width);
  int* out_at = malloc((size_t)(height > 0 ? height : 1) * sizeof(int));
  FILE* input = fopen(argv[2], "rb");
  if (!line || !classes || !out_at || !input) {
    fprintf(stderr, "stream_client: cannot read %s or allocate\n", argv[2]);
    return 1;
  }
  long out = 0, out_before_finish = 0;
  for (long pushed = 0; pushed < height; ++pushed) {
    if (fread(line, sizeof(float), floats, input) != floats) {
      fprintf(stderr, "stream_client: %s: short read at line %ld\n", argv[2], pushed);
      return 1;
    }
    status = comix_stream_push(stream, line, floats);
    if (status != COMIX_OK) return fail("comix_stream_push", status);
    int got = 0;
    do {
      status = comix_stream_pop(stream, classes + (size_t)out * width, (size_t)(height - out) * width, &got);
      if (status != COMIX_OK) return fail("comix_stream_pop", status);
      for (int i = 0; i < got; ++i) out_at[out + i] = (int)(pushed + 1);
      out += got;
    } while (got > 0 && out < height);
  }
  fclose(input);
  out_before_finish = out;
  status = comix_stream_finish(stream);
  if (status != COMIX_OK) return fail("comix_stream_finish", status);
  int got = 0;
  do {
    status = comix_stream_pop(stream, classes + (size_t)out * width, (size_t)width, &got);
    if (status != COMIX_OK) return fail("comix_stream_pop", status);
    if (got) out_at[out] = -1;
    out += got;
  } while (got > 0);

  comix_stream_stats stats;
  comix_stream_get_stats(stream, &stats);
  FILE* file = fopen(argv[5], "wb");
  fwrite(classes, 1, (size_t)out * width, file);
  fclose(file);
  file = fopen(argv[6], "wb");
  fwrite(out_at, sizeof(int), (size_t)out, file);
  fclose(file);
  printf("lines_in=%lld\nlines_out=%lld\nlines_ready=%lld\npopped=%ld\npopped_before_finish=%ld\n",
         stats.lines_in, stats.lines_out, stats.lines_ready, out, out_before_finish);
  printf("tiles=%lld\ntiles_skipped=%lld\nmodel_calls=%lld\nnodata_lines=%lld\nnodata_pixels=%lld\n",
         stats.tiles, stats.tiles_skipped, stats.model_calls, stats.nodata_lines, stats.nodata_pixels);
  printf("watchdog_calls=%lld\nwatchdog_last=%lld\n", kicks[0], kicks[1]);
  printf("width=%d\ntile=%dx%d\noverlap=%d\nbatch=%d\nfinished=%d\nline_floats=%zu\n", stats.width,
         stats.tile_height, stats.tile_width, stats.overlap, stats.batch, stats.finished, stats.line_floats);
  /* VmHWM, the peak of this program's own memory (getrusage's ru_maxrss would include the parent's from
   * before exec) */
  FILE* status_file = fopen("/proc/self/status", "r");
  char text[256];
  while (status_file && fgets(text, sizeof text, status_file)) {
    if (strncmp(text, "VmHWM:", 6) == 0) printf("peak_rss_kib=%ld\n", atol(text + 6));
  }
  if (status_file) fclose(status_file);
  comix_stream_close(stream);
  comix_close(model);
  free(line);
  free(classes);
  free(out_at);
  return 0;
}
