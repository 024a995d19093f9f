/* alloc_count.c — counts the heap allocations of comix_run, by who made them.
 *
 *   alloc_count MODEL BATCH HEIGHT WIDTH RUNS
 *
 * Interposes malloc, calloc, realloc, free and the aligned allocators (this executable's definitions
 * preempt glibc's for every library; the real work is done by glibc's __libc_* entry points). While
 * armed, each allocation's call stack is taken (backtrace) and attributed by its innermost frame that
 * lies in libcomix_infer.so ("ours": the C API and our DCN ops) or libonnxruntime.so ("ort"); an ORT
 * allocation made inside an ORT API call of our DCN op (stack: ORT, ours, ORT, ours) is counted apart as
 * "ort_for_ops". Frames elsewhere only (libstdc++ by itself, the loader) count as "other".
 *
 * Counts the first run of the shape (the control: our code sets up there, so "ours" must be > 0, or the
 * attribution is broken), then runs the same tile RUNS times with the same buffers, then RUNS times
 * alternating between two buffer sets, and prints one line per phase (counts summed over the phase's
 * runs; the first run of the later phases is not counted):
 *   first_run runs=1 ours=A ort=B ort_for_ops=C other=D
 *   same_buffers runs=R ours=A ort=B ort_for_ops=C other=D
 *   new_buffers runs=R ours=A ort=B ort_for_ops=C other=D
 * The inputs are zeros: allocation counts do not depend on values.
 *
 *   alloc_count --stream MODEL WIDTH LINES TILE BATCH
 *
 * counts a line stream instead (comix_stream_*, tile TILE x TILE, default overlap): "stream_open" (the
 * control: the stream allocates its buffers there), "stream_first_row" (the first TILE + 1 lines: the
 * first row of tiles runs, ONNX Runtime and our DCN ops set up), then "stream_lines" (LINES more lines,
 * each pushed and its finished lines popped), "stream_finish" (comix_stream_finish and the last pops) and
 * "stream_second_pass" (comix_stream_reset and a whole pass of TILE + 1 + LINES lines, finished). The
 * lines are zeros with nodata: every 7th line has NaN in a few pixels (the nearest fill runs), and lines
 * TILE + 2 .. 2 TILE + 3 are all NaN in their left half (tiles without a valid pixel are skipped).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comix_infer.h"

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void __libc_free(void*);
extern void* __libc_memalign(size_t, size_t);

enum { OURS, ORT, ORT_FOR_OPS, OTHER, KINDS };
static const char* kKindNames[KINDS] = {"ours", "ort", "ort_for_ops", "other"};

typedef struct range {
  uintptr_t begin, end;
} range;

#define MAX_RANGES 16
static range g_ours[MAX_RANGES], g_ort[MAX_RANGES];
static int g_ours_count, g_ort_count;
static volatile int g_armed;
static long g_counts[KINDS];
static __thread int t_inside;

static int in_ranges(uintptr_t address, const range* ranges, int count) {
  for (int i = 0; i < count; ++i) {
    if (address >= ranges[i].begin && address < ranges[i].end) return 1;
  }
  return 0;
}

/* Library of a frame: 1 ours, 2 ORT, 0 neither. */
static int library_of(void* frame) {
  uintptr_t a = (uintptr_t)frame;
  if (in_ranges(a, g_ours, g_ours_count)) return 1;
  if (in_ranges(a, g_ort, g_ort_count)) return 2;
  return 0;
}

static void record(void) {
  if (!g_armed || t_inside) return;
  t_inside = 1;
  void* frames[160];
  int depth = backtrace(frames, 160);
  int segments[8], count = 0;
  for (int i = 1; i < depth && count < 8; ++i) {
    int library = library_of(frames[i]);
    if (library != 0 && (count == 0 || segments[count - 1] != library)) segments[count++] = library;
  }
  int kind = OTHER;
  if (count > 0) kind = segments[0] == 1 ? OURS : (count >= 4 && segments[1] == 1 ? ORT_FOR_OPS : ORT);
  __atomic_add_fetch(&g_counts[kind], 1, __ATOMIC_RELAXED);
  t_inside = 0;
}

void* malloc(size_t size) {
  record();
  return __libc_malloc(size);
}
void* calloc(size_t n, size_t size) {
  record();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t size) {
  record();
  return __libc_realloc(p, size);
}
void free(void* p) { __libc_free(p); }
int posix_memalign(void** out, size_t alignment, size_t size) {
  record();
  void* p = __libc_memalign(alignment, size);
  if (!p) return 12; /* ENOMEM */
  *out = p;
  return 0;
}
void* aligned_alloc(size_t alignment, size_t size) {
  record();
  return __libc_memalign(alignment, size);
}
void* memalign(size_t alignment, size_t size) {
  record();
  return __libc_memalign(alignment, size);
}

static int collect(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  range* ranges = NULL;
  int* count = NULL;
  if (strstr(info->dlpi_name, "libcomix_infer.so")) ranges = g_ours, count = &g_ours_count;
  if (strstr(info->dlpi_name, "libonnxruntime.so")) ranges = g_ort, count = &g_ort_count;
  if (!ranges) return 0;
  for (int i = 0; i < info->dlpi_phnum && *count < MAX_RANGES; ++i) {
    if (info->dlpi_phdr[i].p_type != PT_LOAD) continue;
    uintptr_t begin = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
    ranges[(*count)++] = (range){begin, begin + info->dlpi_phdr[i].p_memsz};
  }
  return 0;
}

static void phase(const char* name, comix_model* model, float* buffers[2][3], int alternate, int batch,
                  int height, int width, int runs, int count_first) {
  memset(g_counts, 0, sizeof g_counts);
  for (int i = 0; i < runs; ++i) {
    float** b = buffers[alternate ? i % 2 : 0];
    g_armed = i > 0 || count_first; /* the first run of a phase may set up */
    int status = comix_run(model, b[0], b[1], batch, height, width, b[2]);
    g_armed = 0;
    if (status != COMIX_OK) {
      fprintf(stderr, "alloc_count: %s\n", comix_last_error());
      exit(1);
    }
  }
  printf("%s runs=%d", name, count_first ? runs : runs - 1);
  for (int k = 0; k < KINDS; ++k) printf(" %s=%ld", kKindNames[k], g_counts[k]);
  printf("\n");
}

/* Line `index` of the stream's test pattern (see the top of the file). */
static void stream_line(float* line, int planes, int width, long index, int tile) {
  memset(line, 0, (size_t)planes * width * sizeof(float));
  int all_left = index >= tile + 2 && index <= 2 * tile + 3;
  for (int p = 0; p < planes; ++p) {
    float* values = line + (size_t)p * width;
    if (index % 7 == 0 && p == 0) values[width / 3] = values[width / 2] = NAN;
    for (int c = 0; all_left && c < width / 2; ++c) values[c] = NAN;
  }
}

static long g_stream_index;

/* Pushes `lines` lines of the pattern, popping after each; exits on a failure. */
static void stream_lines(comix_stream* stream, float* line, unsigned char* classes, int planes, int width,
                         long lines, int tile) {
  for (long i = 0; i < lines; ++i, ++g_stream_index) {
    stream_line(line, planes, width, g_stream_index, tile);
    int got = 0;
    if (comix_stream_push(stream, line, (size_t)planes * width) != COMIX_OK ||
        comix_stream_pop(stream, classes, (size_t)2 * tile * width, &got) != COMIX_OK) {
      fprintf(stderr, "alloc_count: %s\n", comix_last_error());
      exit(1);
    }
  }
}

static void stream_finish(comix_stream* stream, unsigned char* classes, int width, int tile) {
  int got = 0;
  if (comix_stream_finish(stream) != COMIX_OK ||
      comix_stream_pop(stream, classes, (size_t)2 * tile * width, &got) != COMIX_OK) {
    fprintf(stderr, "alloc_count: %s\n", comix_last_error());
    exit(1);
  }
}

static void report_phase(const char* name, long runs) {
  printf("%s runs=%ld", name, runs);
  for (int k = 0; k < KINDS; ++k) printf(" %s=%ld", kKindNames[k], g_counts[k]);
  printf("\n");
  memset(g_counts, 0, sizeof g_counts);
}

static int stream_main(char** argv) {
  int width = atoi(argv[3]), tile = atoi(argv[5]), batch = atoi(argv[6]);
  long lines = atol(argv[4]);
  comix_model* model = NULL;
  if (comix_open(argv[2], NULL, &model) != COMIX_OK) {
    fprintf(stderr, "alloc_count: %s\n", comix_last_error());
    return 2;
  }
  comix_info info;
  comix_get_info(model, &info);
  int planes = info.bands + info.x_channels;
  float* line = calloc((size_t)planes * width, sizeof(float));
  unsigned char* classes = calloc((size_t)2 * tile * width, 1);
  dl_iterate_phdr(collect, NULL);
  if (!g_ours_count || !g_ort_count || !line || !classes) {
    fprintf(stderr, "alloc_count: no library ranges or no memory\n");
    return 1;
  }
  void* warm[4];
  backtrace(warm, 4);
  comix_stream_options options;
  memset(&options, 0, sizeof options);
  options.tile_height = tile;
  options.batch = batch;
  comix_stream* stream = NULL;
  memset(g_counts, 0, sizeof g_counts);
  g_armed = 1;
  int status = comix_stream_open(model, width, &options, &stream);
  g_armed = 0;
  if (status != COMIX_OK) {
    fprintf(stderr, "alloc_count: %s\n", comix_last_error());
    return 2;
  }
  report_phase("stream_open", 1);
  g_armed = 1;
  stream_lines(stream, line, classes, planes, width, tile + 1, tile);
  g_armed = 0;
  report_phase("stream_first_row", tile + 1);
  g_armed = 1;
  stream_lines(stream, line, classes, planes, width, lines, tile);
  g_armed = 0;
  report_phase("stream_lines", lines);
  g_armed = 1;
  stream_finish(stream, classes, width, tile);
  g_armed = 0;
  report_phase("stream_finish", 1);
  g_armed = 1;
  comix_stream_reset(stream);
  g_stream_index = 0;
  stream_lines(stream, line, classes, planes, width, tile + 1 + lines, tile);
  stream_finish(stream, classes, width, tile);
  g_armed = 0;
  report_phase("stream_second_pass", tile + 1 + lines);
  comix_stream_stats stats;
  comix_stream_get_stats(stream, &stats);
  printf("stats lines_in=%lld lines_out=%lld tiles=%lld tiles_skipped=%lld model_calls=%lld\n",
         stats.lines_in, stats.lines_out, stats.tiles, stats.tiles_skipped, stats.model_calls);
  comix_stream_close(stream);
  comix_close(model);
  free(line);
  free(classes);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 7 && strcmp(argv[1], "--stream") == 0) return stream_main(argv);
  if (argc != 6) {
    fprintf(stderr, "usage: %s MODEL BATCH HEIGHT WIDTH RUNS | --stream MODEL WIDTH LINES TILE BATCH\n",
            argv[0]);
    return 2;
  }
  int batch = atoi(argv[2]), height = atoi(argv[3]), width = atoi(argv[4]), runs = atoi(argv[5]);
  comix_model* model = NULL;
  if (comix_open(argv[1], NULL, &model) != COMIX_OK) {
    fprintf(stderr, "alloc_count: %s\n", comix_last_error());
    return 2;
  }
  comix_info info;
  comix_get_info(model, &info);
  size_t pixels = (size_t)batch * height * width;
  float* buffers[2][3];
  for (int s = 0; s < 2; ++s) {
    buffers[s][0] = calloc(pixels * info.bands, sizeof(float));
    buffers[s][1] = calloc(pixels * (info.x_channels ? info.x_channels : 1), sizeof(float));
    buffers[s][2] = calloc(pixels * info.classes, sizeof(float));
  }
  dl_iterate_phdr(collect, NULL);
  if (!g_ours_count || !g_ort_count) {
    fprintf(stderr, "alloc_count: got %d ranges of libcomix_infer and %d of libonnxruntime, expected both\n",
            g_ours_count, g_ort_count);
    return 1;
  }
  void* warm[4];
  backtrace(warm, 4); /* loads the unwinder before counting starts */
  phase("first_run", model, buffers, 0, batch, height, width, 1, 1);
  phase("same_buffers", model, buffers, 0, batch, height, width, runs, 0);
  phase("new_buffers", model, buffers, 1, batch, height, width, runs, 0);
  comix_close(model);
  return 0;
}
