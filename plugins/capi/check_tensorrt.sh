#!/usr/bin/env bash
# Compile-check the C API's TensorRT path against every TensorRT header set in a folder.
#
# usage: plugins/capi/check_tensorrt.sh [THIRD_PARTY_DIR] [--only VERSION] [--out DIR]
#   THIRD_PARTY_DIR  holds tensorrt-<version>/include/NvInferVersion.h (default: third_party/ of the repo;
#                    see tools/check_tensorrt_headers.sh for fetching them; never commit them)
#   --only           check only tensorrt-<VERSION>
#   --out            object folder (default: build/check_capi_tensorrt, git-ignored)
#
# Per header set: src/trt_backend.cpp and src/api.cpp (with COMIX_CAPI_TENSORRT) compiled with
# g++ -Wall -Wextra -Wpedantic -Werror (TensorRT, CUDA and ONNX Runtime headers as -isystem), then the
# objects' undefined symbols (beyond libc, libstdc++ and the library's own objects) are matched against what
# a TensorRT build links: libnvinfer
# (createInferRuntime_INTERNAL, getInferLibVersion), libcudart (cuda*), libcomix_trt_plugins
# (getCreators). Nothing is linked or run: there is no libnvinfer and no GPU here.
# Prints one summary line per version and exits non-zero on any error, warning or unexpected symbol.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
third_party="$repo/third_party"
only=""
out="$repo/build/check_capi_tensorrt"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) third_party="$1"; shift ;;
  esac
done

cxx="${CXX:-g++}"
nvcc_bin="${NVCC:-nvcc}"
command -v "$nvcc_bin" >/dev/null || { echo "nvcc not found (set NVCC=...): it locates the CUDA headers" >&2; exit 2; }
cuda_home="${CUDA_HOME:-$("$nvcc_bin" --dryrun -c -x cu /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p' | head -1)}"
cuda_home="$(cd "$cuda_home" && pwd -P)"
[[ -f "$cuda_home/include/cuda_runtime_api.h" ]] || cuda_home="$(cd "$cuda_home/.." && pwd -P)"
[[ -f "$cuda_home/include/cuda_runtime_api.h" ]] || { echo "no cuda_runtime_api.h under $cuda_home" >&2; exit 2; }
ort_include="${ONNXRUNTIME_INCLUDE_DIR:-$(ls -d "$repo"/plugins/build/third_party/onnxruntime-*/include 2>/dev/null | head -1)}"
[[ -f "$ort_include/onnxruntime_c_api.h" ]] || {
  echo "no ONNX Runtime headers: build the plugins once (comix plugins build) or set ONNXRUNTIME_INCLUDE_DIR" >&2; exit 2; }

capi="$repo/plugins/capi"
# what the C and C++ runtime libraries define: undefined symbols they resolve are not TensorRT's
system_symbols="$out/system_symbols.txt"
mkdir -p "$out"
for lib in libc.so.6 libstdc++.so.6 libgcc_s.so.1 libm.so.6; do
  path="$("$cxx" -print-file-name="$lib")"
  [[ -f "$path" ]] && nm -D --defined-only "$path" | awk '{print $3}' | sed 's/@.*//'
done | sort -u >"$system_symbols"
status=0
found=0
for dir in "$third_party"/tensorrt-*; do
  [[ -f "$dir/include/NvInferVersion.h" ]] || continue
  version="${dir##*/tensorrt-}"
  [[ -z "$only" || "$only" == "$version" ]] || continue
  found=1
  build="$out/$version"
  mkdir -p "$build"
  errors=0
  warnings=0
  for src in trt_backend api; do
    set +e
    log="$("$cxx" -std=c++17 -O2 -fPIC -fvisibility=hidden -Wall -Wextra -Wpedantic -Werror -DCOMIX_CAPI_TENSORRT=1 \
      -isystem "$dir/include" -isystem "$cuda_home/include" -isystem "$ort_include" \
      -I"$capi/include" -I"$capi/src" -I"$repo/plugins/onnxruntime/src" \
      -c "$capi/src/$src.cpp" -o "$build/$src.o" 2>&1)"
    rc=$?
    set -e
    warnings=$((warnings + $(grep -c "warning:" <<<"$log" || true)))
    [[ $rc -ne 0 ]] && errors=$((errors + 1))
    [[ -n "$log" ]] && echo "$log"
  done
  needs="-"
  unexpected="-"
  if [[ $errors -eq 0 ]]; then
    undefined="$(nm -u "$build/trt_backend.o" | awk '{print $2}' | grep -vx -F -f "$system_symbols" \
      | grep -v '^_GLOBAL_OFFSET_TABLE_$\|^__tls_get_addr$\|^_ZN5comix4capi' || true)"  # ld.so; our other objects
    needs="$(grep -E '^(createInferRuntime_INTERNAL|getInferLibVersion|getCreators)$' <<<"$undefined" | sort | tr '\n' ' ')"
    unexpected="$(grep -vE '^(createInferRuntime_INTERNAL|getInferLibVersion|getCreators|cuda[A-Za-z]+)$' <<<"$undefined" | tr '\n' ' ' || true)"
  fi
  echo "TensorRT $version: compile errors=$errors warnings=$warnings needs=[${needs% }] unexpected=[${unexpected% }]"
  if [[ $errors -ne 0 || "${needs% }" != "createInferRuntime_INTERNAL getCreators getInferLibVersion" || -n "${unexpected// /}" ]]; then
    status=1
  fi
done
if [[ $found -eq 0 ]]; then
  echo "no tensorrt-*/include/NvInferVersion.h under $third_party${only:+ (version $only)}" >&2
  exit 2
fi
exit $status
