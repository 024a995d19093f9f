/* run_tile.c — the smallest complete client of comix_infer.h: open a model, run tiles, write logits.
 *
 *   cc -std=c99 -I plugins/capi/include run_tile.c -L plugins/build/capi -lcomix_infer \
 *      -Wl,-rpath,plugins/build/capi -o run_tile
 *   ./run_tile MODEL HSI.f32 X.f32 LOGITS.f32 BATCH HEIGHT WIDTH [THREADS [VERIFY [REPEAT]]]
 *
 * HSI.f32 / X.f32: raw float32 (BATCH, bands, HEIGHT, WIDTH) / (BATCH, x_channels, HEIGHT, WIDTH), C order;
 * LOGITS.f32 receives (BATCH, classes, HEIGHT, WIDTH). Prints key=value lines on stdout: the model's info,
 * first_logits_s (comix_open to the first logits, in seconds), peak resident memory after open, after the
 * first run and at the end, and, with REPEAT > 1, run_ms_median (median of REPEAT further runs of the tile).
 * Exit status 2 for bad input, 1 for a failure. The tests (tests/capi) and tools/bench_flight.py build and
 * run it; docs/flight.md walks through it.
 */
#define _POSIX_C_SOURCE 199309L

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "comix_infer.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Peak resident set size of this process so far, in KiB (Linux: ru_maxrss is in KiB). */
static long peak_rss_kib(void) {
  struct rusage usage;
  return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : -1;
}

static int fail(int status) {
  fprintf(stderr, "run_tile: %s\n", comix_last_error());
  return status == COMIX_BAD_INPUT ? 2 : 1;
}

/* Reads exactly `count` floats from `path` into a new buffer; NULL (and a message) otherwise. */
static float* read_floats(const char* path, size_t count) {
  FILE* file = fopen(path, "rb");
  float* data = malloc(count * sizeof(float) + 1);
  size_t got = file && data ? fread(data, sizeof(float), count + 1, file) : 0;
  if (file) fclose(file);
  if (got != count) {
    fprintf(stderr, "run_tile: %s: got %zu floats, expected %zu\n", path, got, count);
    free(data);
    return NULL;
  }
  return data;
}

static int compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc < 8) {
    fprintf(stderr,
            "usage: %s MODEL HSI.f32 X.f32 LOGITS.f32 BATCH HEIGHT WIDTH [THREADS [VERIFY [REPEAT]]]\n",
            argv[0]);
    return 2;
  }
  int batch = atoi(argv[5]), height = atoi(argv[6]), width = atoi(argv[7]);
  int repeat = argc > 10 ? atoi(argv[10]) : 1;
  comix_options options = {argc > 8 ? atoi(argv[8]) : 1, argc > 9 ? atoi(argv[9]) : 0, "cpu"};
  if (comix_abi_version() != COMIX_ABI_VERSION) {
    fprintf(stderr, "run_tile: library ABI %d, header ABI %d\n", comix_abi_version(), COMIX_ABI_VERSION);
    return 1;
  }

  double start = now();
  comix_model* model = NULL;
  int status = comix_open(argv[1], &options, &model);
  if (status != COMIX_OK) return fail(status);
  comix_info info;
  comix_get_info(model, &info);
  long rss_open = peak_rss_kib();
  status = comix_check_input(model, info.bands, info.x_channels, batch, height, width);
  if (status != COMIX_OK) return fail(status);

  size_t pixels = (size_t)batch * (size_t)height * (size_t)width;
  float* hsi = read_floats(argv[2], pixels * (size_t)info.bands);
  float* x = read_floats(argv[3], pixels * (size_t)info.x_channels);
  float* logits = malloc(pixels * (size_t)info.classes * sizeof(float));
  if (!hsi || (!x && info.x_channels > 0) || !logits) return 2;
  double opened = now();
  status = comix_run(model, hsi, x, batch, height, width, logits);
  if (status != COMIX_OK) return fail(status);
  double first = now();

  printf("version=%s\nbands=%d\nx_channels=%d\nclasses=%d\ntile=%dx%d\ntask=%s\nname=%s\n",
         comix_version_string(), info.bands, info.x_channels, info.classes, info.tile_height, info.tile_width,
         info.task, info.name);
  printf("open_s=%.6f\nfirst_logits_s=%.6f\n", opened - start, first - start);
  printf("peak_rss_after_open_kib=%ld\npeak_rss_after_first_run_kib=%ld\n", rss_open, peak_rss_kib());
  if (repeat > 1) {
    double* times = malloc((size_t)repeat * sizeof(double));
    for (int i = 0; i < repeat && times; ++i) {
      double t0 = now();
      status = comix_run(model, hsi, x, batch, height, width, logits);
      if (status != COMIX_OK) return fail(status);
      times[i] = 1e3 * (now() - t0);
    }
    if (times) {
      qsort(times, (size_t)repeat, sizeof(double), compare);
      printf("run_ms_median=%.3f\nrun_ms_min=%.3f\n", times[repeat / 2], times[0]);
    }
    free(times);
  }

  FILE* out = fopen(argv[4], "wb");
  if (!out ||
      fwrite(logits, sizeof(float), pixels * (size_t)info.classes, out) != pixels * (size_t)info.classes) {
    fprintf(stderr, "run_tile: %s: cannot be written\n", argv[4]);
    return 1;
  }
  fclose(out);
  printf("peak_rss_kib=%ld\n", peak_rss_kib());
  comix_close(model);
  free(hsi);
  free(x);
  free(logits);
  return 0;
}
