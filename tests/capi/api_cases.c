/* api_cases.c — every way to call the C API wrongly, and a few right ones, one
 * line per case:
 *
 *   api_cases GOOD STATIC STAMPED TRUNCATED GARBAGE CORRUPT FOLDER
 *
 *   GOOD       a dynamic .onnx (tiny model: 6 bands, 1 X channel, 4 classes),
 * no digests STATIC     a fixed-tile (16x16, batch 1) .onnx STAMPED    GOOD
 * with its digests recorded TRUNCATED  the first half of GOOD GARBAGE    a text
 * file CORRUPT    STAMPED with one weight byte flipped FOLDER     a folder
 *
 * Prints "<case>\t<status>\t<comix_last_error() or a value>" per case; the test
 * (test_api.py) knows what each must give. A crash, an abort or a hang fails
 * the test by itself.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comix_infer.h"

static void report(const char* name, int status) {
  printf("%s\t%d\t%s\n", name, status, status == COMIX_OK ? "" : comix_last_error());
}

static comix_model* open_or_die(const char* path, const comix_options* options) {
  comix_model* model = NULL;
  if (comix_open(path, options, &model) != COMIX_OK) {
    fprintf(stderr, "api_cases: %s: %s\n", path, comix_last_error());
    exit(1);
  }
  return model;
}

static void kick(void* user_data, long long tiles_done) {
  long long* kicks = (long long*)user_data;
  kicks[0] += 1;
  kicks[1] = tiles_done;
}

/* The last error is per thread: a failure on another thread leaves this
 * thread's message alone. */
static void* fail_on_other_thread(void* unused) {
  (void)unused;
  comix_model* model = NULL;
  comix_open("/nonexistent/other-thread.onnx", NULL, &model);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 8) {
    fprintf(stderr,
            "usage: api_cases GOOD STATIC STAMPED TRUNCATED GARBAGE "
            "CORRUPT FOLDER\n");
    return 2;
  }
  const char *good = argv[1], *fixed = argv[2], *stamped = argv[3], *truncated = argv[4], *garbage = argv[5],
             *corrupt = argv[6], *folder = argv[7];
  printf("initial_error\t0\t%s\n", comix_last_error());
  printf("abi\t%d\t%d\n", comix_abi_version(), COMIX_ABI_VERSION);
  printf("version\t0\t%s\n", comix_version_string());

  comix_model* model = (comix_model*)&model; /* must be reset to NULL on failure */
  comix_options options = {1, 0, NULL};
  report("open_null_path", comix_open(NULL, NULL, &model));
  printf("open_null_path_handle\t0\t%s\n", model == NULL ? "null" : "set");
  report("open_null_out", comix_open(good, NULL, NULL));
  report("open_missing", comix_open("/nonexistent/model.onnx", NULL, &model));
  report("open_folder", comix_open(folder, NULL, &model));
  report("open_truncated", comix_open(truncated, NULL, &model));
  report("open_garbage", comix_open(garbage, NULL, &model));
  options.threads = -1;
  report("open_bad_threads", comix_open(good, &options, &model));
  options.threads = 1;
  options.verify = 2;
  report("open_bad_verify", comix_open(good, &options, &model));
  options.verify = 0;
  options.device = "gpu0";
  report("open_bad_device", comix_open(good, &options, &model));
  options.device = "cuda:0";
  report("open_cuda_for_onnx", comix_open(good, &options, &model));
  options.device = "cpu";
  report("open_engine", comix_open("/nonexistent/model.engine", &options, &model));
  options.verify = 1;
  report("open_verify_unstamped", comix_open(good, &options, &model));
  report("open_verify_corrupt", comix_open(corrupt, &options, &model));
  report("open_verify_stamped", comix_open(stamped, &options, &model));
  comix_close(model);
  report("open_unverified_corrupt", comix_open(corrupt, NULL, &model)); /* verify = 0: opens */
  comix_close(model);

  model = open_or_die(good, NULL);
  comix_info info;
  memset(&info, 0xff, sizeof info);
  report("info_null_model", comix_get_info(NULL, &info));
  report("info_null_info", comix_get_info(model, NULL));
  report("info", comix_get_info(model, &info));
  printf("info_values\t0\t%d %d %d %d %d %s %s\n", info.bands, info.x_channels, info.classes,
         info.tile_height, info.tile_width, info.task, info.name);

  enum { B = 1, H = 5, W = 7 };
  float hsi[B * 6 * H * W] = {0}, x[B * 1 * H * W] = {0}, logits[B * 4 * H * W];
  report("run_null_model", comix_run(NULL, hsi, x, B, H, W, logits));
  report("run_null_hsi", comix_run(model, NULL, x, B, H, W, logits));
  report("run_null_x", comix_run(model, hsi, NULL, B, H, W, logits));
  report("run_null_logits", comix_run(model, hsi, x, B, H, W, NULL));
  report("run_batch_0", comix_run(model, hsi, x, 0, H, W, logits));
  report("run_height_0", comix_run(model, hsi, x, B, 0, W, logits));
  report("run_negative_width", comix_run(model, hsi, x, B, H, -3, logits));
  report("run_huge", comix_run(model, hsi, x, 1 << 20, 1 << 20, 1 << 20, logits));
  report("run_ok", comix_run(model, hsi, x, B, H, W, logits));
  /* the watchdog: called once per finished tile, with the running count and the
   * user pointer */
  long long kicks[2] = {0, 0}; /* calls, last count */
  report("watchdog_null_model", comix_set_watchdog(NULL, kick, kicks));
  report("watchdog_set", comix_set_watchdog(model, kick, kicks));
  comix_run(model, hsi, x, B, H, W, logits);
  comix_run(model, hsi, x, 1, H, W, logits);
  comix_set_watchdog(model, NULL, NULL);
  comix_run(model, hsi, x, B, H, W, logits);
  printf("watchdog_calls\t0\t%lld %lld %d\n", kicks[0], kicks[1], B);
  report("check_input_ok", comix_check_input(model, 6, 1, B, H, W));
  report("check_input_bands", comix_check_input(model, 5, 1, B, H, W));
  report("check_input_x", comix_check_input(model, 6, 2, B, H, W));
  report("check_input_null", comix_check_input(NULL, 6, 1, B, H, W));

  char name[64];
  report("class_name_0", comix_get_class_name(model, 0, name, sizeof name));
  printf("class_name_0_value\t0\t%s\n", name);
  report("class_name_out_of_range", comix_get_class_name(model, 4, name, sizeof name));
  report("class_name_small_buffer", comix_get_class_name(model, 0, name, 3));
  report("class_name_null_buffer", comix_get_class_name(model, 0, NULL, 8));
  char value[256];
  report("metadata_name", comix_get_metadata(model, "comix.model_name", value, sizeof value));
  printf("metadata_name_value\t0\t%s\n", value);
  report("metadata_missing", comix_get_metadata(model, "comix.nothing", value, sizeof value));
  report("metadata_null_key", comix_get_metadata(model, NULL, value, sizeof value));

  comix_digests computed;
  report("digests_null_path", comix_model_digests(NULL, &computed, NULL));
  report("digests_null_out", comix_model_digests(good, NULL, NULL));
  report("digests_truncated", comix_model_digests(truncated, &computed, NULL));
  report("verify_file_unstamped", comix_verify_file(good));
  report("verify_file_stamped", comix_verify_file(stamped));
  report("verify_file_null", comix_verify_file(NULL));

  /* thread-local messages */
  comix_get_info(NULL, &info);
  char mine[256];
  snprintf(mine, sizeof mine, "%s", comix_last_error());
  pthread_t thread;
  pthread_create(&thread, NULL, fail_on_other_thread, NULL);
  pthread_join(thread, NULL);
  printf("thread_local\t0\t%s\n", strcmp(mine, comix_last_error()) == 0 ? "kept" : "overwritten");
  comix_close(model);

  model = open_or_die(fixed, NULL);
  float tile_hsi[6 * 16 * 16] = {0}, tile_x[16 * 16] = {0}, tile_logits[4 * 17 * 16];
  report("fixed_info", comix_get_info(model, &info));
  printf("fixed_info_values\t0\t%d %d\n", info.tile_height, info.tile_width);
  report("fixed_run_ok", comix_run(model, tile_hsi, tile_x, 1, 16, 16, tile_logits));
  report("fixed_run_wrong_tile", comix_run(model, tile_hsi, tile_x, 1, 17, 16, tile_logits));
  report("fixed_run_wrong_batch", comix_run(model, tile_hsi, tile_x, 2, 16, 16, tile_logits));
  comix_close(model);
  comix_close(NULL);
  printf("done\t0\t\n");
  return 0;
}
