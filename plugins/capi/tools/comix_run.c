/* comix-run — classify a scene with the C API only (comix_infer.h): an example and a smoke tool.
 *
 *   comix-run [options] MODEL INPUT OUTPUT
 *
 * INPUT is float32, band-sequential (BSQ), little-endian: the model's HSI bands followed by its X
 * channels (bands + x_channels planes), or only the HSI bands when --x gives the X channels in a second
 * file of the same layout. Either an ENVI file (INPUT.hdr beside it, or INPUT given as the .hdr; data
 * type 4, interleave bsq, byte order 0) or raw (then --size HEIGHTxWIDTH).
 * OUTPUT is an ENVI classification: OUTPUT (uint8, values 1..K = class index + 1, 0 = no data, as
 * `comix infer` writes) and OUTPUT.hdr with the class names. Both are written under a temporary name and
 * renamed when complete.
 *
 * Tiling: simple non-overlapping tiles (not the Python runtime's overlap blending): tiles of --tile
 * (default: the model's fixed tile, else 128) from the top-left corner; the last row and column of tiles
 * are moved back to end at the scene's edge (they overlap their neighbour, whose classes they replace);
 * a scene smaller than a fixed tile is padded by repeating its edge pixels. A pixel whose inputs are not
 * all finite (or equal ENVI's "data ignore value") is written as 0, no data.
 * Exit status: 0 done, 2 bad input (one sentence on stderr), 1 the run failed.
 *
 *   comix-run --stream --width W [options] MODEL INPUT OUTPUT
 *
 * A pushbroom line stream (comix_stream_*): INPUT ("-" = standard input, or a file or FIFO) is lines of
 * (bands + x_channels) x W float32, little-endian, band-interleaved by line, no header, as long as it
 * lasts; OUTPUT ("-" = standard output, or a FIFO, written as lines finish; or a file, written under a
 * temporary name and renamed at the end, with OUTPUT.hdr) gets W uint8 labels per line, each line as soon
 * as it is final: `comix infer`'s classes for the same scene, with its tiling and overlap blending.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "comix_infer.h"

#define EXIT_BAD_INPUT 2

static const char* kUsage =
    "usage: comix-run [options] MODEL INPUT OUTPUT\n"
    "\n"
    "Classify a scene with the CoMiX C API (libcomix_infer.so).\n"
    "\n"
    "  MODEL   model.onnx from `comix export` (or model.engine when built with TensorRT)\n"
    "  INPUT   float32 BSQ little-endian: HSI bands then X channels; ENVI (INPUT.hdr beside it) or raw\n"
    "  OUTPUT  ENVI classification: OUTPUT (uint8, 1..K = class + 1, 0 = no data) + OUTPUT.hdr\n"
    "\n"
    "options:\n"
    "  --x FILE          X channels in their own file (same layout as INPUT, which then holds HSI only)\n"
    "  --size HxW        scene size of a raw INPUT (an ENVI header gives it)\n"
    "  --tile N          tile side in pixels (default: the model's fixed tile, else 128)\n"
    "  --threads N       ONNX Runtime threads (default 1)\n"
    "  --verify          check the model's recorded SHA-256 digests at open\n"
    "  --device D        cpu (default) or cuda:N (TensorRT engines)\n"
    "  --logits FILE     also write the logits, float32 BSQ (classes, H, W), raw\n"
    "  -q, --quiet       no summary on stderr\n"
    "  -h, --help        this text\n"
    "\n"
    "line streaming (a pushbroom pass, as long as INPUT lasts; `comix infer`'s classes line by line):\n"
    "  comix-run --stream --width W [--tile N] [--overlap N] [--batch N] [--nodata V] MODEL INPUT OUTPUT\n"
    "  INPUT             - (stdin), a file or a FIFO: lines of (bands + X channels) x W float32, LE, BIL\n"
    "  OUTPUT            - (stdout) or a FIFO: W uint8 labels per line as it finishes; or a file (+ .hdr)\n"
    "  --width W         pixels per line\n"
    "  --overlap N       pixels shared by neighbouring tiles (default 3/8 of the tile)\n"
    "  --batch N         tiles per model call (default 1, or the model's fixed batch)\n"
    "  --nodata V        samples equal to V are no data (NaN/Inf always are)\n";

/* ------------------------------------------------------------------------------------------ errors */

static void bad(const char* format, ...) {
  va_list args;
  va_start(args, format);
  fputs("comix-run: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(EXIT_BAD_INPUT);
}

/* Exits with the C API's status and message. */
static void api_failed(int status) {
  fprintf(stderr, "comix-run: %s\n", comix_last_error());
  exit(status == COMIX_BAD_INPUT ? EXIT_BAD_INPUT : 1);
}

/* ---------------------------------------------------------------------------------- input rasters */

typedef struct raster {
  const char* name;
  const float* data; /* (planes, height, width) */
  size_t mapped_size;
  void* mapped;
  long planes, height, width;
  int has_ignore;
  double ignore;
} raster;

static char* read_text(const char* path) {
  FILE* file = fopen(path, "rb");
  if (!file) return NULL;
  size_t capacity = 4096, size = 0;
  char* text = malloc(capacity);
  for (size_t n; text && (n = fread(text + size, 1, capacity - size - 1, file)) > 0;) {
    size += n;
    if (size + 1 == capacity) {
      char* grown = realloc(text, capacity *= 2);
      if (!grown) free(text);
      text = grown;
    }
  }
  fclose(file);
  if (text) text[size] = '\0';
  return text;
}

/* Value of `key = value` in an ENVI header (case-insensitive key, spaces trimmed); NULL if absent. */
static int header_value(const char* text, const char* key, char* out, size_t size) {
  size_t key_len = strlen(key);
  for (const char* line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    while (*line == ' ' || *line == '\t') ++line;
    if (strncasecmp(line, key, key_len) != 0) continue;
    const char* p = line + key_len;
    while (*p == ' ' || *p == '\t') ++p;
    if (*p != '=') continue;
    ++p;
    while (*p == ' ' || *p == '\t') ++p;
    size_t n = strcspn(p, "\r\n");
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) --n;
    if (n >= size) n = size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
  }
  return 0;
}

static long header_long(const char* text, const char* header, const char* key, long fallback) {
  char value[64];
  if (!header_value(text, key, value, sizeof value)) {
    if (fallback >= 0) return fallback;
    bad("%s: got no '%s', expected it in an ENVI header", header, key);
  }
  char* end = NULL;
  long parsed = strtol(value, &end, 10);
  if (end == value || *end != '\0' || parsed < 0)
    bad("%s: %s: got '%s', expected a whole number", header, key, value);
  return parsed;
}

static int has_suffix(const char* text, const char* suffix) {
  size_t n = strlen(text), m = strlen(suffix);
  return n >= m && strcasecmp(text + n - m, suffix) == 0;
}

/* Fills r->planes/height/width (and the ignore value) from INPUT's ENVI header; returns the data path
 * (malloc'ed) or NULL when there is no header (a raw file). */
static char* read_envi_header(raster* r, const char* input) {
  char header[4096], data[4096];
  if (has_suffix(input, ".hdr")) {
    snprintf(header, sizeof header, "%s", input);
    snprintf(data, sizeof data, "%.*s", (int)(strlen(input) - 4), input);
  } else {
    snprintf(header, sizeof header, "%s.hdr", input);
    snprintf(data, sizeof data, "%s", input);
    if (access(header, F_OK) != 0) return NULL;
  }
  char* text = read_text(header);
  if (!text) bad("%s: cannot be read (%s), expected an ENVI header", header, strerror(errno));
  if (strncmp(text, "ENVI", 4) != 0)
    bad("%s: got no 'ENVI' on its first line, expected an ENVI header", header);
  r->width = header_long(text, header, "samples", -1);
  r->height = header_long(text, header, "lines", -1);
  r->planes = header_long(text, header, "bands", -1);
  long type = header_long(text, header, "data type", -1);
  long order = header_long(text, header, "byte order", 0);
  long offset = header_long(text, header, "header offset", 0);
  char interleave[32] = "bsq", ignore[64];
  header_value(text, "interleave", interleave, sizeof interleave);
  if (type != 4) bad("%s: data type: got %ld, expected 4 (float32)", header, type);
  if (strcasecmp(interleave, "bsq") != 0) bad("%s: interleave: got %s, expected bsq", header, interleave);
  if (order != 0) bad("%s: byte order: got %ld, expected 0 (little-endian)", header, order);
  if (offset != 0) bad("%s: header offset: got %ld, expected 0", header, offset);
  if (header_value(text, "data ignore value", ignore, sizeof ignore)) {
    r->has_ignore = 1;
    r->ignore = strtod(ignore, NULL);
  }
  free(text);
  return strdup(data);
}

static void map_raster(raster* r, const char* input, long height, long width) {
  char* data_path = read_envi_header(r, input);
  const char* path = data_path ? data_path : input;
  if (!data_path) {
    if (height <= 0)
      bad("%s: got no ENVI header beside it, expected one or --size HEIGHTxWIDTH for a raw file", input);
    r->height = height;
    r->width = width;
  }
  int fd = open(path, O_RDONLY);
  if (fd < 0) bad("%s: cannot be opened (%s), expected a readable float32 file", path, strerror(errno));
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode))
    bad("%s: got a folder or a special file, expected a file", path);
  long pixels = r->height * r->width;
  if (pixels <= 0) bad("%s: got a %ldx%ld scene, expected at least 1x1", path, r->height, r->width);
  if (!data_path) {
    if (info.st_size % (pixels * 4) != 0) {
      bad("%s: got %lld bytes, expected a whole number of %ldx%ld float32 planes (%ld bytes each)", path,
          (long long)info.st_size, r->height, r->width, pixels * 4);
    }
    r->planes = (long)(info.st_size / (pixels * 4));
    if (r->planes == 0)
      bad("%s: got an empty file, expected float32 planes of %ldx%ld", path, r->height, r->width);
  } else if (info.st_size != (off_t)(r->planes * pixels * 4)) {
    bad("%s: got %lld bytes, expected %ld (%ld bands of %ldx%ld float32: truncated?)", path,
        (long long)info.st_size, r->planes * pixels * 4, r->planes, r->height, r->width);
  }
  r->mapped_size = (size_t)info.st_size;
  r->mapped = mmap(NULL, r->mapped_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (r->mapped == MAP_FAILED) bad("%s: cannot be mapped (%s)", path, strerror(errno));
  r->data = r->mapped;
  r->name = input;
  free(data_path);
}

/* Copies planes [first, first + count) of the tile at (row, col), tile_h x tile_w, into out,
 * repeating edge pixels outside the scene. */
static void copy_tile(const raster* r, long first, long count, long row, long col, long tile_h, long tile_w,
                      float* out) {
  for (long p = 0; p < count; ++p) {
    const float* plane = r->data + (first + p) * r->height * r->width;
    for (long y = 0; y < tile_h; ++y) {
      long sy = row + y < r->height ? row + y : r->height - 1;
      const float* line = plane + sy * r->width;
      float* dest = out + (p * tile_h + y) * tile_w;
      long inside = r->width - col < tile_w ? r->width - col : tile_w;
      memcpy(dest, line + col, (size_t)inside * sizeof(float));
      for (long x = inside; x < tile_w; ++x) dest[x] = line[r->width - 1];
    }
  }
}

/* Clears valid[y * tile_w + x] where one of `count` planes of the tile is not finite or is the raster's
 * ignore value (the top-left in_h x in_w part of the tile, the part inside the scene). */
static void mark_invalid(const raster* r, const float* tile, long count, long tile_h, long tile_w, long in_h,
                         long in_w, unsigned char* valid) {
  for (long p = 0; p < count; ++p) {
    for (long y = 0; y < in_h; ++y) {
      const float* line = tile + (p * tile_h + y) * tile_w;
      for (long x = 0; x < in_w; ++x) {
        if (!isfinite(line[x]) || (r->has_ignore && line[x] == (float)r->ignore)) valid[y * tile_w + x] = 0;
      }
    }
  }
}

/* ------------------------------------------------------------------------------------------ output */

static void write_file(const char* path, const void* data, size_t size) {
  char temporary[4200];
  snprintf(temporary, sizeof temporary, "%s.partial", path);
  FILE* file = fopen(temporary, "wb");
  if (!file) bad("%s: cannot be written (%s), expected a writable folder", path, strerror(errno));
  int ok = fwrite(data, 1, size, file) == size;
  ok = fclose(file) == 0 && ok;
  if (!ok || rename(temporary, path) != 0) {
    remove(temporary);
    fprintf(stderr, "comix-run: %s: writing failed (%s)\n", path, strerror(errno));
    exit(1);
  }
}

static void write_header(const char* output, comix_model* model, const comix_info* info, long height,
                         long width) {
  size_t capacity = 4096 + (size_t)info->classes * 320;
  char *text = malloc(capacity), name[256];
  if (!text) bad("out of memory");
  int n =
      snprintf(text, capacity,
               "ENVI\ndescription = {CoMiX classes of %s, written by comix-run (%s)}\n"
               "samples = %ld\nlines = %ld\nbands = 1\nheader offset = 0\nfile type = ENVI Classification\n"
               "data type = 1\ninterleave = bsq\nbyte order = 0\nclasses = %d\nclass names = {no data",
               info->name, comix_version_string(), width, height, info->classes + 1);
  for (int k = 0; k < info->classes; ++k) {
    if (comix_get_class_name(model, k, name, sizeof name) != COMIX_OK || name[0] == '\0') {
      snprintf(name, sizeof name, "class %d", k);
    }
    for (char* c = name; *c; ++c) {
      if (*c == ',' || *c == '{' || *c == '}') *c = ' '; /* ENVI lists cannot quote */
    }
    n += snprintf(text + n, capacity - (size_t)n, ", %s", name);
  }
  n += snprintf(text + n, capacity - (size_t)n, "}\nclass lookup = {0, 0, 0");
  for (int k = 0; k < info->classes; ++k) {
    /* a fixed palette, spread over the hue circle */
    int r = (int)(127.5 + 127.5 * cos(6.2832 * k / info->classes));
    int g = (int)(127.5 + 127.5 * cos(6.2832 * k / info->classes - 2.0944));
    int b = (int)(127.5 + 127.5 * cos(6.2832 * k / info->classes + 2.0944));
    n += snprintf(text + n, capacity - (size_t)n, ", %d, %d, %d", r, g, b);
  }
  n += snprintf(text + n, capacity - (size_t)n, "}\ndata ignore value = 0\n");
  char header[4200];
  snprintf(header, sizeof header, "%s.hdr", output);
  write_file(header, text, (size_t)n);
  free(text);
}

/* -------------------------------------------------------------------------------------------- main */

typedef struct arguments {
  const char *model, *input, *output, *x_input, *logits, *device;
  long height, width, tile;
  int threads, verify, quiet;
  int stream, overlap_set, nodata_set;
  long line_width, overlap, batch;
  double nodata;
} arguments;

static double parse_double(const char* option, const char* value) {
  char* end = NULL;
  double parsed = value ? strtod(value, &end) : 0.0;
  if (!value || end == value || *end != '\0')
    bad("%s: got '%s', expected a number", option, value ? value : "");
  return parsed;
}

static long parse_long(const char* option, const char* value, long low) {
  char* end = NULL;
  long parsed = value ? strtol(value, &end, 10) : 0;
  if (!value || end == value || *end != '\0' || parsed < low) {
    bad("%s: got '%s', expected a whole number >= %ld", option, value ? value : "", low);
  }
  return parsed;
}

static arguments parse_arguments(int argc, char** argv) {
  arguments a = {0};
  a.threads = 1;
  const char* positional[3] = {0};
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      fputs(kUsage, stdout);
      exit(0);
    } else if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
      a.quiet = 1;
    } else if (!strcmp(arg, "--verify")) {
      a.verify = 1;
    } else if (!strcmp(arg, "--stream")) {
      a.stream = 1;
    } else if (!strcmp(arg, "--width") || !strcmp(arg, "--overlap") || !strcmp(arg, "--batch") ||
               !strcmp(arg, "--nodata")) {
      if (!value) bad("%s: got no value, expected one", arg);
      ++i;
      if (!strcmp(arg, "--width")) a.line_width = parse_long(arg, value, 1);
      if (!strcmp(arg, "--overlap")) a.overlap = parse_long(arg, value, 0), a.overlap_set = 1;
      if (!strcmp(arg, "--batch")) a.batch = parse_long(arg, value, 1);
      if (!strcmp(arg, "--nodata")) a.nodata = parse_double(arg, value), a.nodata_set = 1;
    } else if (!strcmp(arg, "--x") || !strcmp(arg, "--logits") || !strcmp(arg, "--device") ||
               !strcmp(arg, "--size") || !strcmp(arg, "--tile") || !strcmp(arg, "--threads")) {
      if (!value) bad("%s: got no value, expected one", arg);
      ++i;
      if (!strcmp(arg, "--x")) a.x_input = value;
      if (!strcmp(arg, "--logits")) a.logits = value;
      if (!strcmp(arg, "--device")) a.device = value;
      if (!strcmp(arg, "--tile")) a.tile = parse_long(arg, value, 1);
      if (!strcmp(arg, "--threads")) a.threads = (int)parse_long(arg, value, 1);
      if (!strcmp(arg, "--size") &&
          (sscanf(value, "%ldx%ld", &a.height, &a.width) != 2 || a.height < 1 || a.width < 1)) {
        bad("--size: got '%s', expected HEIGHTxWIDTH, e.g. 512x640", value);
      }
    } else if (arg[0] == '-' && arg[1] != '\0') {
      bad("got the unknown option %s, expected one of those in --help", arg);
    } else if (count < 3) {
      positional[count++] = arg;
    } else {
      bad("got a fourth argument '%s', expected MODEL INPUT OUTPUT", arg);
    }
  }
  if (count < 3) bad("got %d of MODEL INPUT OUTPUT, expected all three (see --help)", count);
  if (a.stream && !a.line_width) bad("--stream: got no --width, expected the pixels per line");
  if (a.stream && (a.x_input || a.logits || a.height)) {
    bad("--stream: got %s, expected none of --x, --logits, --size with a line stream",
        a.x_input ? "--x" : (a.logits ? "--logits" : "--size"));
  }
  if (!a.stream && (a.line_width || a.overlap_set || a.batch || a.nodata_set)) {
    bad("got --width, --overlap, --batch or --nodata without --stream, expected them only with --stream");
  }
  a.model = positional[0];
  a.input = positional[1];
  a.output = positional[2];
  return a;
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Tile origins along one axis: 0, T, 2T, ... with the last moved back to end at the edge. */
static long tile_origin(long index, long tile, long size) {
  long origin = index * tile;
  return origin + tile > size ? (size > tile ? size - tile : 0) : origin;
}

/* ------------------------------------------------------------------------------------ line stream */

/* Where the finished lines go: standard output or a FIFO directly; a file under a temporary name. */
typedef struct line_sink {
  FILE* file;
  char temporary[4200];
  int renamed_at_end;
} line_sink;

static void open_sink(line_sink* sink, const char* output) {
  struct stat info;
  sink->temporary[0] = '\0';
  sink->renamed_at_end = 0;
  if (!strcmp(output, "-")) {
    sink->file = stdout;
    return;
  }
  if (stat(output, &info) == 0 && (S_ISFIFO(info.st_mode) || S_ISCHR(info.st_mode))) {
    sink->file = fopen(output, "wb");
  } else {
    snprintf(sink->temporary, sizeof sink->temporary, "%s.partial", output);
    sink->file = fopen(sink->temporary, "wb");
    sink->renamed_at_end = 1;
  }
  if (!sink->file)
    bad("%s: cannot be written (%s), expected a writable file, FIFO or -", output, strerror(errno));
}

static void put_lines(line_sink* sink, const unsigned char* classes, size_t bytes, long* counts) {
  for (size_t i = 0; i < bytes; ++i) counts[classes[i]]++;
  if (fwrite(classes, 1, bytes, sink->file) != bytes || fflush(sink->file) != 0) {
    fprintf(stderr, "comix-run: writing the classes failed (%s)\n", strerror(errno));
    if (sink->renamed_at_end) remove(sink->temporary);
    exit(1);
  }
}

/* Pops every finished line (width bytes each) into the sink, through classes[size]. */
static void drain(comix_stream* stream, line_sink* sink, unsigned char* classes, size_t size, size_t width,
                  long* counts, long* out) {
  int lines = 0;
  do {
    int status = comix_stream_pop(stream, classes, size, &lines);
    if (status != COMIX_OK) api_failed(status);
    put_lines(sink, classes, (size_t)lines * width, counts);
    *out += lines;
  } while (lines > 0);
}

static int run_stream(const arguments* a, comix_model* model, const comix_info* info) {
  comix_stream_options options;
  memset(&options, 0, sizeof options);
  options.tile_height = (int)a->tile;
  options.overlap_set = a->overlap_set;
  options.overlap = (int)a->overlap;
  options.batch = (int)a->batch;
  options.nodata_set = a->nodata_set;
  options.nodata = a->nodata;
  comix_stream* stream = NULL;
  int status = comix_stream_open(model, (int)a->line_width, &options, &stream);
  if (status != COMIX_OK) api_failed(status);
  comix_stream_stats stats;
  comix_stream_get_stats(stream, &stats);
  FILE* input = !strcmp(a->input, "-") ? stdin : fopen(a->input, "rb");
  if (!input) bad("%s: cannot be read (%s), expected a file, FIFO or -", a->input, strerror(errno));
  line_sink sink;
  open_sink(&sink, a->output);
  size_t floats = stats.line_floats, width = (size_t)a->line_width;
  size_t out_size = width * (size_t)stats.tile_height; /* one pop takes what a finish can make ready */
  float* line = malloc(floats * sizeof(float));
  unsigned char* classes = malloc(out_size);
  long* counts = calloc((size_t)info->classes + 1, sizeof(long));
  if (!line || !classes || !counts) bad("out of memory");
  double start = seconds();
  long in = 0, out = 0;
  size_t got = 0;
  while ((got = fread(line, sizeof(float), floats, input)) == floats) {
    status = comix_stream_push(stream, line, floats);
    if (status != COMIX_OK) api_failed(status);
    ++in;
    drain(stream, &sink, classes, out_size, width, counts, &out);
  }
  int trailing = got != 0 || ferror(input);
  status = comix_stream_finish(stream);
  if (status != COMIX_OK) api_failed(status);
  drain(stream, &sink, classes, out_size, width, counts, &out);
  double elapsed = seconds() - start;
  if (input != stdin) fclose(input);
  if (trailing) {
    if (sink.renamed_at_end) fclose(sink.file), remove(sink.temporary);
    bad("%s: got %zu floats after line %ld, expected whole lines of %zu float32 ((%d bands + %d X channels) "
        "x "
        "%zu pixels)%s",
        a->input, got, in, floats, info->bands, info->x_channels, width,
        sink.renamed_at_end ? "; nothing written" : "; the whole lines' classes were written");
  }
  if (sink.renamed_at_end) {
    if (fclose(sink.file) != 0 || rename(sink.temporary, a->output) != 0) {
      fprintf(stderr, "comix-run: %s: writing failed (%s)\n", a->output, strerror(errno));
      remove(sink.temporary);
      return 1;
    }
    write_header(a->output, model, info, out, (long)width);
  } else {
    fflush(sink.file);
  }
  comix_stream_get_stats(stream, &stats);
  if (!a->quiet) {
    fprintf(stderr,
            "comix-run: %s, %ld lines of %zu px in, %ld out, %lld tiles of %dx%d (overlap %d, %lld without "
            "data), "
            "%.1f lines/s; nodata lines %lld; pixels per class:",
            info->name, in, width, out, stats.tiles, stats.tile_height, stats.tile_width, stats.overlap,
            stats.tiles_skipped, elapsed > 0 ? (double)in / elapsed : 0.0, stats.nodata_lines);
    for (int k = 0; k <= info->classes; ++k) {
      if (counts[k]) fprintf(stderr, " %d:%ld", k, counts[k]);
    }
    fputc('\n', stderr);
  }
  comix_stream_close(stream);
  free(line);
  free(classes);
  free(counts);
  return 0;
}

int main(int argc, char** argv) {
  arguments a = parse_arguments(argc, argv);
  if (comix_abi_version() != COMIX_ABI_VERSION) {
    fprintf(stderr, "comix-run: libcomix_infer has ABI %d, this program was built for %d\n",
            comix_abi_version(), COMIX_ABI_VERSION);
    return 1;
  }
  double start = seconds();
  comix_options options = {a.threads, a.verify, a.device};
  comix_model* model = NULL;
  int status = comix_open(a.model, &options, &model);
  if (status != COMIX_OK) api_failed(status);
  comix_info info;
  comix_get_info(model, &info);
  if (strcmp(info.task, "segmentation") != 0) {
    bad("%s: got a model of task '%s', expected a segmentation model (comix-run writes classes)", a.model,
        info.task);
  }
  if (a.stream) {
    int code = run_stream(&a, model, &info);
    comix_close(model);
    return code;
  }

  raster hsi = {0}, xr = {0};
  map_raster(&hsi, a.input, a.height, a.width);
  const raster* x_source = &hsi;
  long x_first = info.bands;
  long hsi_planes = a.x_input ? hsi.planes : hsi.planes - info.x_channels;
  if (a.x_input) {
    map_raster(&xr, a.x_input, hsi.height, hsi.width);
    if (xr.height != hsi.height || xr.width != hsi.width) {
      bad("%s: got %ldx%ld, expected %ldx%ld like %s", a.x_input, xr.height, xr.width, hsi.height, hsi.width,
          a.input);
    }
    x_source = &xr;
    x_first = 0;
  }
  long x_planes = a.x_input ? xr.planes : info.x_channels;
  long height = hsi.height, width = hsi.width;
  long tile_h = info.tile_height ? info.tile_height : (a.tile ? a.tile : 128);
  long tile_w = info.tile_width ? info.tile_width : (a.tile ? a.tile : 128);
  if (info.tile_height && a.tile && (a.tile != tile_h || a.tile != tile_w)) {
    bad("--tile: got %ld, expected %ldx%ld (the model's fixed tile) or no --tile", a.tile, tile_h, tile_w);
  }
  if (!info.tile_height) { /* any size: never larger than the scene */
    tile_h = tile_h < height ? tile_h : height;
    tile_w = tile_w < width ? tile_w : width;
  }
  status = comix_check_input(model, (int)hsi_planes, (int)x_planes, 1, (int)tile_h, (int)tile_w);
  if (status != COMIX_OK) {
    fprintf(stderr, "comix-run: %s: %s\n", a.input, comix_last_error());
    return EXIT_BAD_INPUT;
  }

  size_t tile_pixels = (size_t)(tile_h * tile_w);
  float* hsi_tile = malloc(tile_pixels * (size_t)info.bands * sizeof(float));
  float* x_tile = malloc(tile_pixels * (size_t)(info.x_channels ? info.x_channels : 1) * sizeof(float));
  float* logits = malloc(tile_pixels * (size_t)info.classes * sizeof(float));
  unsigned char* classes = calloc((size_t)(height * width), 1);
  float* scene_logits =
      a.logits ? malloc((size_t)(height * width) * (size_t)info.classes * sizeof(float)) : NULL;
  long* counts = calloc((size_t)info.classes + 1, sizeof(long));
  unsigned char* valid = malloc(tile_pixels);
  if (!hsi_tile || !x_tile || !logits || !classes || !counts || !valid || (a.logits && !scene_logits)) {
    bad("out of memory");
  }
  if (info.classes > 255)
    bad("%s: got %d classes, expected at most 255 (uint8 class raster)", a.model, info.classes);

  long rows = (height + tile_h - 1) / tile_h, cols = (width + tile_w - 1) / tile_w, tiles = 0;
  double first_tile = 0.0, run_time = 0.0;
  for (long ty = 0; ty < rows; ++ty) {
    long row = tile_origin(ty, tile_h, height);
    for (long tx = 0; tx < cols; ++tx) {
      long col = tile_origin(tx, tile_w, width);
      copy_tile(&hsi, 0, info.bands, row, col, tile_h, tile_w, hsi_tile);
      if (info.x_channels) copy_tile(x_source, x_first, info.x_channels, row, col, tile_h, tile_w, x_tile);
      double t0 = seconds();
      status = comix_run(model, hsi_tile, x_tile, 1, (int)tile_h, (int)tile_w, logits);
      if (status != COMIX_OK) api_failed(status);
      run_time += seconds() - t0;
      if (tiles++ == 0) first_tile = seconds() - start;
      long in_h = height - row < tile_h ? height - row : tile_h,
           in_w = width - col < tile_w ? width - col : tile_w;
      memset(valid, 1, tile_pixels);
      mark_invalid(&hsi, hsi_tile, info.bands, tile_h, tile_w, in_h, in_w, valid);
      mark_invalid(x_source, x_tile, info.x_channels, tile_h, tile_w, in_h, in_w, valid);
      for (long y = 0; y < in_h; ++y) {
        for (long x = 0; x < in_w; ++x) {
          long best = 0;
          for (long k = 1; k < info.classes; ++k) {
            if (logits[(k * tile_h + y) * tile_w + x] > logits[(best * tile_h + y) * tile_w + x]) best = k;
          }
          long pixel = (row + y) * width + col + x;
          classes[pixel] = valid[y * tile_w + x] ? (unsigned char)(best + 1) : 0;
          if (scene_logits) {
            for (long k = 0; k < info.classes; ++k) {
              scene_logits[k * height * width + pixel] = logits[(k * tile_h + y) * tile_w + x];
            }
          }
        }
      }
    }
  }
  for (long i = 0; i < height * width; ++i) counts[classes[i]]++;
  write_file(a.output, classes, (size_t)(height * width));
  write_header(a.output, model, &info, height, width);
  if (a.logits) write_file(a.logits, scene_logits, (size_t)(height * width * info.classes) * sizeof(float));
  if (!a.quiet) {
    fprintf(stderr,
            "comix-run: %s (%s), %ldx%ld scene, %ld tiles of %ldx%ld: first tile after %.3f s, %.1f ms per "
            "tile\n",
            info.name, comix_version_string(), height, width, tiles, tile_h, tile_w, first_tile,
            1e3 * run_time / (double)tiles);
    fprintf(stderr, "comix-run: wrote %s (+ .hdr); pixels per class:", a.output);
    for (int k = 0; k <= info.classes; ++k) {
      if (counts[k]) fprintf(stderr, " %d:%ld", k, counts[k]);
    }
    fputc('\n', stderr);
  }
  comix_close(model);
  free(hsi_tile);
  free(x_tile);
  free(logits);
  free(classes);
  free(scene_logits);
  free(counts);
  free(valid);
  munmap(hsi.mapped, hsi.mapped_size);
  if (xr.mapped) munmap(xr.mapped, xr.mapped_size);
  return 0;
}
