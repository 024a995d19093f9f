/* digest_tool.c — the C API's digests of ONNX files, for comparison with comix/model_digest.py.
 *
 *   digest_tool FILE...
 *
 * Per file, one line: "<file>\t<status>\t<weights>\t<graph>\t<recorded weights>\t<recorded graph>" from
 * comix_model_digests (digests empty and the message in their place on failure), then one line
 * "<file>\tverify\t<status>\t<message>" from comix_verify_file.
 */
#include <stdio.h>

#include "comix_infer.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    comix_digests computed, recorded;
    int status = comix_model_digests(argv[i], &computed, &recorded);
    if (status == COMIX_OK) {
      printf("%s\t%d\t%s\t%s\t%s\t%s\n", argv[i], status, computed.weights, computed.graph, recorded.weights,
             recorded.graph);
    } else {
      printf("%s\t%d\t%s\n", argv[i], status, comix_last_error());
    }
    status = comix_verify_file(argv[i]);
    printf("%s\tverify\t%d\t%s\n", argv[i], status, status == COMIX_OK ? "" : comix_last_error());
  }
  return 0;
}
