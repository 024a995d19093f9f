/* stream_cases.c — every way to call the comix_stream_* functions wrongly, and the right ones around them,
 * one line per case:
 *
 *   stream_cases GOOD STATIC FUSION FAILING
 *
 *   GOOD    a dynamic .onnx (tiny model: 6 bands, 1 X channel, 4 classes)
 *   STATIC  a fixed-tile (16x16, batch 1) .onnx
 *   FUSION  GOOD with the record's task set to "fusion"
 *   FAILING a model whose run fails unless the tile is 16 x 16 (a Reshape to a fixed size)
 *
 * Prints "<case>\t<status>\t<comix_last_error() or a value>" per case; test_stream.py knows what each must
 * give. A crash, an abort or a hang fails the test by itself.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comix_infer.h"

enum { WIDTH = 20, TILE = 16, FLOATS = (6 + 1) * WIDTH };

static void report(const char* name, int status) {
  printf("%s\t%d\t%s\n", name, status, status == COMIX_OK ? "" : comix_last_error());
}

static comix_model* open_or_die(const char* path) {
  comix_model* model = NULL;
  if (comix_open(path, NULL, &model) != COMIX_OK) {
    fprintf(stderr, "stream_cases: %s: %s\n", path, comix_last_error());
    exit(1);
  }
  return model;
}

static comix_stream_options tile_options(int tile_height, int tile_width) {
  comix_stream_options options;
  memset(&options, 0, sizeof options);
  options.tile_height = tile_height;
  options.tile_width = tile_width;
  return options;
}

/* Opens with `options`, reports, closes whatever opened; checks that a failure leaves *stream NULL. */
static void open_case(const char* name, comix_model* model, int width, const comix_stream_options* options) {
  comix_stream* stream = (comix_stream*)&stream; /* must be reset to NULL on failure */
  int status = comix_stream_open(model, width, options, &stream);
  report(name, status);
  if (status != COMIX_OK && stream != NULL) printf("%s_handle\t9\tnot reset to NULL\n", name);
  comix_stream_close(status == COMIX_OK ? stream : NULL);
}

static void print_stats(const char* name, const comix_stream* stream) {
  comix_stream_stats s;
  memset(&s, 0xff, sizeof s);
  int status = comix_stream_get_stats(stream, &s);
  printf(
      "%s\t%d\tin=%lld out=%lld ready=%lld tiles=%lld finished=%d tile=%dx%d overlap=%d batch=%d "
      "floats=%zu\n",
      name, status, s.lines_in, s.lines_out, s.lines_ready, s.tiles, s.finished, s.tile_height, s.tile_width,
      s.overlap, s.batch, s.line_floats);
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: stream_cases GOOD STATIC FUSION FAILING\n");
    return 2;
  }
  comix_model* model = open_or_die(argv[1]);
  comix_stream_options options = tile_options(TILE, 0);
  comix_stream* stream = NULL;

  report("open_null_model", comix_stream_open(NULL, WIDTH, &options, &stream));
  report("open_null_out", comix_stream_open(model, WIDTH, &options, NULL));
  open_case("open_width_0", model, 0, &options);
  open_case("open_width_negative", model, -5, &options);
  options = tile_options(-4, 0);
  open_case("open_negative_tile", model, WIDTH, &options);
  options = tile_options(0, 12);
  open_case("open_tile_width_only", model, WIDTH, &options);
  options = tile_options(TILE, 0);
  options.overlap_set = 1;
  options.overlap = TILE;
  open_case("open_overlap_too_big", model, WIDTH, &options);
  options.overlap = -1;
  open_case("open_overlap_negative", model, WIDTH, &options);
  options.overlap_set = 2;
  open_case("open_bad_overlap_set", model, WIDTH, &options);
  options = tile_options(TILE, 0);
  options.batch = -1;
  open_case("open_negative_batch", model, WIDTH, &options);
  options = tile_options(TILE, 0);
  options.nodata_set = 3;
  open_case("open_bad_nodata_set", model, WIDTH, &options);
  options.nodata_set = 1;
  options.nodata = 1e300;
  open_case("open_nodata_out_of_range", model, WIDTH, &options);
  options.nodata = NAN;
  open_case("open_nodata_nan", model, WIDTH, &options); /* NaN is always nodata: accepted */
  options = tile_options(1 << 30, 1 << 30);
  open_case("open_huge_tile", model, WIDTH, &options);
  options = tile_options(65536, 65536);
  open_case("open_huge_buffers", model, 1 << 30, &options);
  open_case("open_defaults_null_options", model, WIDTH, NULL);

  /* the defaults: tile 128 (limited to the width for a model of any tile size), overlap 48, batch 1 */
  report("open_defaults", comix_stream_open(model, 300, NULL, &stream));
  print_stats("defaults", stream);
  comix_stream_close(stream);

  options = tile_options(TILE, 0);
  report("open_ok", comix_stream_open(model, WIDTH, &options, &stream));
  float line[FLOATS + 1];
  memset(line, 0, sizeof line);
  unsigned char classes[4 * TILE * WIDTH];
  int lines = -1;
  report("push_null_stream", comix_stream_push(NULL, line, FLOATS));
  report("push_null_line", comix_stream_push(stream, NULL, FLOATS));
  report("push_short_line", comix_stream_push(stream, line, FLOATS - 1));
  report("push_long_line", comix_stream_push(stream, line, FLOATS + 1));
  report("pop_null_stream", comix_stream_pop(NULL, classes, sizeof classes, &lines));
  printf("pop_null_stream_lines\t0\t%d\n", lines);
  report("pop_null_classes", comix_stream_pop(stream, NULL, sizeof classes, &lines));
  report("pop_null_lines", comix_stream_pop(stream, classes, sizeof classes, NULL));
  report("pop_small_buffer", comix_stream_pop(stream, classes, WIDTH - 1, &lines));
  report("pop_nothing_yet", comix_stream_pop(stream, classes, sizeof classes, &lines));
  printf("pop_nothing_yet_lines\t0\t%d\n", lines);
  report("finish_null", comix_stream_finish(NULL));
  report("reset_null", comix_stream_reset(NULL));
  report("stats_null_stream", comix_stream_get_stats(NULL, NULL));
  comix_stream_stats stats;
  report("stats_null_stats", comix_stream_get_stats(stream, NULL));
  print_stats("before_push", stream);

  /* back-pressure: 2 TILE lines pushed without a pop leave TILE finished lines waiting; the next push is
   * refused (the line not taken), a pop makes room */
  int pushed = 0;
  while (pushed < 2 * TILE && comix_stream_push(stream, line, FLOATS) == COMIX_OK) ++pushed;
  printf("pushed_without_pop\t0\t%d\n", pushed);
  report("push_while_full", comix_stream_push(stream, line, FLOATS));
  print_stats("full", stream);
  report("pop_one", comix_stream_pop(stream, classes, WIDTH, &lines));
  printf("pop_one_lines\t0\t%d\n", lines);
  report("push_after_pop", comix_stream_push(stream, line, FLOATS));
  report("pop_all", comix_stream_pop(stream, classes, sizeof classes, &lines));
  printf("pop_all_lines\t0\t%d\n", lines);
  report("finish", comix_stream_finish(stream));
  report("finish_again", comix_stream_finish(stream));
  report("push_after_finish", comix_stream_push(stream, line, FLOATS));
  report("pop_rest", comix_stream_pop(stream, classes, sizeof classes, &lines));
  printf("pop_rest_lines\t0\t%d\n", lines);
  print_stats("finished", stream);
  report("reset", comix_stream_reset(stream));
  print_stats("after_reset", stream);
  report("push_after_reset", comix_stream_push(stream, line, FLOATS));
  comix_stream_close(stream);

  /* a pass with no line */
  comix_stream_open(model, WIDTH, &options, &stream);
  report("finish_empty", comix_stream_finish(stream));
  report("pop_empty", comix_stream_pop(stream, classes, sizeof classes, &lines));
  printf("pop_empty_lines\t0\t%d\n", lines);
  comix_stream_close(stream);
  comix_stream_close(NULL);
  (void)stats;
  comix_close(model);

  model = open_or_die(argv[2]);
  options = tile_options(32, 0);
  open_case("static_wrong_tile", model, WIDTH, &options);
  options = tile_options(0, 0);
  options.batch = 2;
  open_case("static_wrong_batch", model, WIDTH, &options);
  report("static_defaults", comix_stream_open(model, 5, NULL, &stream));
  print_stats("static", stream);
  comix_stream_close(stream);
  comix_close(model);

  model = open_or_die(argv[3]);
  open_case("open_fusion", model, WIDTH, NULL);
  comix_close(model);
  /* a model that fails: the stream says so, refuses more work until a reset, then works again */
  model = open_or_die(argv[4]);
  options = tile_options(TILE, 0);
  comix_stream_open(model, WIDTH, &options, &stream);
  for (int i = 0; i < 5; ++i) comix_stream_push(stream, line, FLOATS);
  report("failing_finish", comix_stream_finish(stream)); /* a 5-line pass: a 5 x 16 tile, refused */
  report("failing_finish_again", comix_stream_finish(stream));
  report("failing_push", comix_stream_push(stream, line, FLOATS));
  report("failing_pop", comix_stream_pop(stream, classes, sizeof classes, &lines));
  printf("failing_pop_lines\t0\t%d\n", lines);
  report("failing_reset", comix_stream_reset(stream));
  int status = COMIX_OK;
  for (int i = 0; i < TILE + 1 && status == COMIX_OK; ++i) status = comix_stream_push(stream, line, FLOATS);
  report("failing_after_reset", status); /* 16 x 16 tiles run */
  report("failing_after_reset_pop", comix_stream_pop(stream, classes, sizeof classes, &lines));
  printf("failing_after_reset_lines\t0\t%d\n", lines);
  comix_stream_close(stream);
  comix_close(model);
  printf("done\t0\t\n");
  return 0;
}
