/* comix_infer.h — C API of the CoMiX flight runtime (libcomix_infer.so).
 *
 * Runs an exported CoMiX model (model.onnx from `comix export`, canonical or portable graph) with ONNX
 * Runtime on the CPU, our deformable-convolution ops built in; or a TensorRT engine (model.engine from
 * `comix build`) on a GPU when the library was built with TensorRT.
 *
 * Contract:
 *   - every function returns COMIX_OK, COMIX_FAILED or COMIX_BAD_INPUT (or a value, as documented);
 *     after a failure, comix_last_error() gives this thread's one-sentence message (got X, expected Y);
 *   - no exception, abort or signal leaves the library; NULL arguments are reported, never dereferenced;
 *   - the caller owns every buffer: comix_run reads and writes the caller's arrays in place (the CPU
 *     path wraps them without copying) and keeps no pointer to them after it returns;
 *   - after the first comix_run of a shape, later runs of that shape allocate nothing in this library;
 *   - calls on one handle are serialised by the handle (comix_run from two threads on one handle waits);
 *     open one handle per thread to run in parallel. Handles are independent of each other.
 *
 * Minimal use (error handling shortened):
 *   comix_model *model = NULL;
 *   comix_options options = {1, 1, "cpu"};            threads, verify digests, device
 *   if (comix_open("model.onnx", &options, &model) != COMIX_OK) { puts(comix_last_error()); return 2; }
 *   comix_info info; comix_get_info(model, &info);
 *   comix_run(model, hsi, x, 1, 128, 128, logits);    hsi (1, bands, 128, 128), logits (1, classes, 128, 128)
 *   comix_close(model);
 *
 * ABI: COMIX_ABI_VERSION changes only when a declaration here changes meaning or layout; compare it with
 * comix_abi_version() at start-up. Functions are only ever added. Pushbroom line streaming over the same
 * comix_model handle is the comix_stream_* family at the end of this file.
 */
#ifndef COMIX_INFER_H
#define COMIX_INFER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every function below is exported even when the library is built with -fvisibility=hidden. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define COMIX_ABI_VERSION 1

/* The declarations of issue 21, verbatim (never change them; add below). */
/* clang-format off */
#define COMIX_OK 0
#define COMIX_FAILED 1      /* could not finish, not the caller's fault */
#define COMIX_BAD_INPUT 2   /* the caller's input was wrong: see comix_last_error() */
typedef struct comix_model comix_model;
typedef struct comix_options { int threads; int verify; const char *device; } comix_options;
    /* threads 0 = 1; verify 1 = check the model's recorded hashes at open; device NULL/"cpu" or "cuda:N" */
typedef struct comix_info { int bands, x_channels, classes, tile_height, tile_width; char task[32]; char name[64]; } comix_info;
    /* tile 0 x 0 = any size */
int comix_abi_version(void);
int comix_open(const char *path, const comix_options *options, comix_model **model); /* options may be NULL */
int comix_get_info(const comix_model *model, comix_info *info);
int comix_run(comix_model *model, const float *hsi, const float *x, int batch, int height, int width,
              float *logits);  /* NCHW float32 in, (batch, classes, height, width) float32 out, caller's memory */
const char *comix_last_error(void); /* this thread's message for its last failed call */
void comix_close(comix_model *model);
/* clang-format on */

/* What they do, in detail.
 *
 * comix_abi_version: COMIX_ABI_VERSION of the library actually loaded.
 *
 * comix_open: path .onnx (CPU, ONNX Runtime) or .engine (GPU, TensorRT; needs <path>.json beside it).
 *   options may be NULL (1 thread, no verification, CPU). On success *model is a new handle; on failure
 *   it is NULL. A missing or unreadable file, a file that is not a complete model, a digest mismatch with
 *   verify = 1, or a model without recorded digests and verify = 1 give COMIX_BAD_INPUT.
 *
 * comix_get_info: sizes from the graph's input/output shapes, task and name from the model record
 *   (truncated to fit, always NUL-terminated). classes is the output channel count (for a fusion model,
 *   the fused image's bands).
 *
 * comix_run: hsi (batch, bands, height, width), x (batch, x_channels, height, width) float32 NCHW in;
 *   logits (batch, classes, height, width) float32 out, written in place; all in the caller's memory.
 *   x may be NULL only when the model has 0 X channels. A size the model does not take (height/width
 *   other than a fixed tile, batch < 1, ...) gives COMIX_BAD_INPUT and leaves logits unspecified.
 *
 * comix_last_error: "" when this thread has had no failure; valid until this thread's next call.
 *
 * comix_close: releases the handle; NULL is a no-op. No other call on the handle may be running.
 */

/* ---- additions (ABI version 1) ---------------------------------------------------------------- */

/* "comix_infer <version> (onnxruntime <runtime version>[, TensorRT <headers>])": the library and what it
 * runs on, for logs. Static storage; never NULL. */
const char* comix_version_string(void);

/* Checks sizes before a run: COMIX_OK when the model takes hsi (batch, bands, height, width) and
 * x (batch, x_channels, height, width); otherwise COMIX_BAD_INPUT with a sentence naming the first size
 * that differs ("got 100 bands, expected 144"). */
int comix_check_input(const comix_model* model, int bands, int x_channels, int batch, int height, int width);

/* Name of class `index` (0 <= index < classes) from the model record, copied NUL-terminated into
 * buffer[size]; "" when the record has no class names. COMIX_BAD_INPUT for an index out of range or a
 * buffer too small (then buffer holds "" and the message says the size needed). */
int comix_get_class_name(const comix_model* model, int index, char* buffer, size_t size);

/* Value of the model record's entry `key` (e.g. "comix.checkpoint_sha256"; strings as they are, other
 * fields as JSON), copied like comix_get_class_name; COMIX_BAD_INPUT when the model has no such entry. */
int comix_get_metadata(const comix_model* model, const char* key, char* buffer, size_t size);

/* SHA-256 digests of an .onnx file, as comix/model_digest.py defines them: 64 lowercase hex characters
 * + NUL. computed receives the digests of the file's bytes; recorded (may be NULL) the digests the file
 * records, or "" for each when it records none. */
typedef struct comix_digests {
  char weights[65];
  char graph[65];
} comix_digests;
int comix_model_digests(const char* path, comix_digests* computed, comix_digests* recorded);

/* COMIX_OK when the .onnx file's recorded digests match its bytes (what comix_open does with verify = 1),
 * COMIX_BAD_INPUT with the sentence otherwise. For checking an uploaded file before switching to it. */
int comix_verify_file(const char* path);

/* Watchdog hook: after every tile a run on this handle finishes (comix_run: the batch's tiles, after their
 * logits are written), `watchdog(user_data, tiles_done)` is called on the calling thread with the number of
 * tiles the handle has finished so far, so flight software can kick its watchdog. It must return, must not
 * throw, and must not call into this handle. NULL removes it. COMIX_BAD_INPUT only for a NULL model. */
typedef void (*comix_watchdog_fn)(void* user_data, long long tiles_done);
int comix_set_watchdog(comix_model* model, comix_watchdog_fn watchdog, void* user_data);

/* ---- pushbroom line streaming (additions, ABI version 1) ---------------------------------------
 *
 * A pushbroom imager delivers its scene one cross-track line at a time, for as long as the pass lasts. A
 * stream takes the lines as they come and gives back every line's classes as soon as they are final.
 * With the same tile, overlap and model, they are the values `comix infer` writes in its class raster for
 * the same scene written as a file (comix.runtime.segment.segment_source), on every line, the end of the
 * pass included: the last row of tiles moved back to end at the last line, a pass shorter than a tile run
 * as the runtime runs a short scene (a fixed-tile model gets the tile padded with the edge lines), the
 * blending windows of the last rows as the runtime makes them.
 *
 * A line is (bands + x_channels) x width float32 samples, native byte order (little-endian on every
 * target), band-interleaved by line: band 0's width samples, band 1's, ..., then X channel 0's, ...
 * A finished line is width uint8 labels: 1..classes (class index + 1), 0 = no data.
 *
 * No data: a pixel is no data when any of its samples is NaN or +-Inf, or equals the nodata value
 * (compared as float32) when one is set. Its label is 0; for the model it is filled with the nearest
 * valid pixel of its tile (the runtime's `nearest` fill: exact Euclidean distance, ties to the smallest
 * column, then the upper row), so its neighbours get the classes `comix infer` gives them. Tiles without
 * a valid pixel are not run.
 *
 * Latency: line i (counting from 0) is final once line i + tile_height has been pushed: the push of that
 * line runs the row of tiles that finishes it (one row of tiles at most per push, tile_height - overlap
 * lines apart). The last tile_height lines are final after comix_stream_finish.
 *
 * Memory: comix_stream_open allocates everything: a ring of tile_height + 1 lines, one batch of tiles
 * (inputs, logits, nodata fill), the blending band (classes x tile_height x width floats plus weights) and
 * 2 x tile_height finished lines. Later calls allocate nothing in this library, whatever the pass's
 * length; ONNX Runtime allocates in its own run as comix_run does (docs/flight.md). Pop what is finished
 * after every push (or at least every tile_height lines): a push with tile_height finished lines waiting
 * is refused (COMIX_BAD_INPUT), never dropped.
 *
 * The model handle must stay open while its streams exist. A stream runs its tiles through the handle
 * (serialised with comix_run on it) and calls the handle's watchdog (comix_set_watchdog) after every tile
 * of the stream, run or skipped (all-nodata), with the handle's count of finished tiles. Calls on one
 * stream are serialised; several streams may share a handle.
 */
typedef struct comix_stream comix_stream;

/* Zero-initialised = the runtime's defaults (the same as `comix infer`'s). */
typedef struct comix_stream_options {
  int tile_height; /* 0 = the model's fixed tile, else 128 */
  int tile_width;  /* 0 = tile_height (or the model's fixed tile) */
  int overlap_set; /* 0: overlap = 3/8 of the smaller tile side (48 at 128); 1: `overlap` below */
  int overlap;     /* lines/columns shared by neighbouring tiles, 0 <= overlap < the smaller tile side */
  int batch;       /* tiles per model call, within one row of tiles; 0 = the model's fixed batch, else 1 */
  int nodata_set;  /* 1: samples equal to `nodata` mark their pixel as no data (NaN/Inf always do) */
  double nodata;
} comix_stream_options;

/* Counters and the settings in use (comix_stream_get_stats). */
typedef struct comix_stream_stats {
  long long lines_in;      /* lines pushed */
  long long lines_out;     /* finished lines popped */
  long long lines_ready;   /* finished lines waiting for comix_stream_pop */
  long long tiles;         /* tiles done, skipped ones included (= watchdog calls) */
  long long tiles_skipped; /* tiles without a valid pixel, not run */
  long long model_calls;   /* batches run through the model */
  long long nodata_lines;  /* pushed lines with no valid pixel */
  long long nodata_pixels; /* pushed pixels that are no data */
  int width, tile_height, tile_width, overlap, batch; /* after defaults (a short pass: the tile it used) */
  int finished;                                       /* 1 after comix_stream_finish */
  size_t line_floats; /* floats per pushed line: (bands + x_channels) x width */
} comix_stream_stats;

/* A stream of lines `width` pixels wide for `model` (a segmentation model with at most 254 classes).
 * options may be NULL (the defaults). On success *stream is a new stream; on failure NULL. A tile, overlap
 * or batch the model does not take (a fixed-tile model takes only its tile, a fixed-batch one only its
 * batch), width < 1, or sizes past 2^40 floats give COMIX_BAD_INPUT. */
int comix_stream_open(comix_model* model, int width, const comix_stream_options* options,
                      comix_stream** stream);

/* One line of `floats` samples (must be (bands + x_channels) x width), read during the call and not kept
 * by pointer. May run one row of tiles (the model) before it returns. COMIX_BAD_INPUT, the line not taken,
 * for a wrong length, after comix_stream_finish, or while tile_height finished lines wait to be popped;
 * COMIX_FAILED when the model failed (then the stream takes no more lines until comix_stream_reset). */
int comix_stream_push(comix_stream* stream, const float* line, size_t floats);

/* Copies the oldest finished lines, as many as fit in classes[size] (whole lines of width bytes, in order),
 * and sets *lines to how many (0 when none is finished yet). COMIX_BAD_INPUT when size < width. */
int comix_stream_pop(comix_stream* stream, unsigned char* classes, size_t size, int* lines);

/* The end of the pass: runs the last rows of tiles; every pushed line is then finished (pop them). A
 * stream with no line finishes with none. Finishing a finished stream does nothing. */
int comix_stream_finish(comix_stream* stream);

/* Starts a new pass on the same buffers (nothing allocated): counters to 0, unpopped lines dropped. */
int comix_stream_reset(comix_stream* stream);

int comix_stream_get_stats(const comix_stream* stream, comix_stream_stats* stats);

/* Releases the stream (before its model's comix_close); NULL is a no-op. */
void comix_stream_close(comix_stream* stream);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* COMIX_INFER_H */
