#!/usr/bin/env bash
# Compile-check the CoMiX TensorRT plugin library against every TensorRT header set in a folder.
#
# usage: tools/check_tensorrt_headers.sh [THIRD_PARTY_DIR] [--archs "75 87 90"] [--ptx 90]
#                                        [--only VERSION] [--out DIR]
#   THIRD_PARTY_DIR  holds tensorrt-<version>/include/NvInferVersion.h folders (default: third_party/ of the
#                    repo; fetch them with: git --git-dir=<TensorRT mirror> archive release/11.1 include |
#                    tar -x -C third_party/tensorrt-11.1). Never commit those headers or what is built here.
#   --archs          SASS architectures for the CUDA kernels (default: plugins/cuda/architectures.cmake's
#                    choice for this nvcc, e.g. "75 87 90 100 110" with nvcc 13, "75 87 90" with 12.6)
#   --ptx            compute_XX PTX embedded for later GPUs ("" for none; default: the same file's)
#   --only           check only tensorrt-<VERSION>
#   --out            build folder (default: build/check_tensorrt, git-ignored); the library for version V
#                    ends up in OUT/V/libcomix_trt_plugins.so
#
# Per header set: every plugin .cpp with g++ -Wall -Wextra -Wpedantic (TensorRT/CUDA headers as -isystem),
# the CUDA kernels once with nvcc -Werror all-warnings for the listed archs, then a link with
# -Wl,--no-undefined against cudart_static only (no libnvinfer, no libcuda). Prints warnings per step and
# exits non-zero on any warning, error, missing export or libnvinfer dependency.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
third_party="$repo/third_party"
archs=""
ptx="default"
only=""
out="$repo/build/check_tensorrt"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --archs) archs="$2"; shift 2 ;;
    --ptx) ptx="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) third_party="$1"; shift ;;
  esac
done

nvcc_bin="${NVCC:-nvcc}"
cxx="${CXX:-g++}"
command -v "$nvcc_bin" >/dev/null || { echo "nvcc not found (set NVCC=...)" >&2; exit 2; }
if [[ -z "$archs" || "$ptx" == "default" ]]; then
  # the architectures CMake builds by default with this nvcc (one rule: plugins/cuda/architectures.cmake)
  choice="$(cmake -DNVCC_LIST="$("$nvcc_bin" --list-gpu-arch)" -P "$repo/plugins/cuda/architectures.cmake" 2>&1)"
  [[ -z "$archs" ]] && archs="$(sed -n 's/^SASS \(.*\) PTX .*/\1/p' <<<"$choice")"
  [[ "$ptx" == "default" ]] && ptx="$(sed -n 's/.* PTX \([0-9]*\)$/\1/p' <<<"$choice")"
  [[ -n "$archs" ]] || { echo "architectures.cmake: got '$choice', expected 'SASS ... PTX ...'" >&2; exit 2; }
fi
# The toolkit root as nvcc itself reports it (nvcc may be a wrapper script); CUDA_HOME overrides.
cuda_home="${CUDA_HOME:-$("$nvcc_bin" --dryrun -c -x cu /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p' | head -1)}"
cuda_home="$(cd "$cuda_home" && pwd -P)"
[[ -f "$cuda_home/include/cuda_runtime_api.h" ]] || cuda_home="$(cd "$cuda_home/.." && pwd -P)"
cuda_include="$cuda_home/include"
cudart_static="$(ls "$cuda_home"/lib64/libcudart_static.a "$cuda_home"/targets/*/lib/libcudart_static.a 2>/dev/null | head -1)"
[[ -f "$cuda_include/cuda_runtime_api.h" && -f "$cudart_static" ]] || {
  echo "CUDA toolkit at $cuda_home: expected include/cuda_runtime_api.h and libcudart_static.a" >&2; exit 2; }

plugins="$repo/plugins"
trt_sources=(comixPluginLibrary.cpp common/pluginFields.cpp common/pluginLogging.cpp
  deformConvPlugin/deformConvAttributes.cpp deformConvPlugin/deformConvPlugin.cpp
  deformConvPlugin/deformConvPluginCreator.cpp)

status=0
mkdir -p "$out"

# CUDA kernels: independent of the TensorRT headers, compiled once.
gencode=()
for a in $archs; do gencode+=("-gencode=arch=compute_$a,code=sm_$a"); done
[[ -n "$ptx" ]] && gencode+=("-gencode=arch=compute_$ptx,code=compute_$ptx")
cuda_obj="$out/deform_conv_forward.o"
set +e
cuda_log="$("$nvcc_bin" -std=c++17 -O3 -c -Xcompiler=-fPIC,-fvisibility=hidden,-Wall,-Wextra -Werror=all-warnings \
  "${gencode[@]}" -I"$plugins/include" -I"$plugins/cuda/include" \
  "$plugins/cuda/src/deform_conv_forward.cu" -o "$cuda_obj" 2>&1)"
cuda_rc=$?
set -e
cuda_warnings=$(grep -c -i "warning" <<<"$cuda_log" || true)
echo "CUDA kernels (nvcc $("$nvcc_bin" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), sm: $archs, ptx: ${ptx:-none}): rc=$cuda_rc warnings=$cuda_warnings"
[[ -n "$cuda_log" ]] && echo "$cuda_log"
if [[ $cuda_rc -ne 0 || $cuda_warnings -ne 0 ]]; then exit 1; fi

found=0
for dir in "$third_party"/tensorrt-*; do
  [[ -f "$dir/include/NvInferVersion.h" ]] || continue
  version="${dir##*/tensorrt-}"
  [[ -z "$only" || "$only" == "$version" ]] || continue
  found=1
  build="$out/$version"
  mkdir -p "$build"
  objs=()
  warnings=0
  errors=0
  for src in "${trt_sources[@]}"; do
    obj="$build/$(basename "${src%.cpp}").o"
    set +e
    log="$("$cxx" -std=c++17 -O2 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -Wall -Wextra -Wpedantic \
      -isystem "$dir/include" -isystem "$cuda_include" -I"$plugins/include" -I"$plugins/cuda/include" \
      -I"$plugins/tensorrt" -c "$plugins/tensorrt/$src" -o "$obj" 2>&1)"
    rc=$?
    set -e
    n=$(grep -c "warning:" <<<"$log" || true)
    warnings=$((warnings + n))
    [[ $rc -ne 0 ]] && errors=$((errors + 1))
    [[ -n "$log" ]] && echo "$log"
    objs+=("$obj")
  done
  lib="$build/libcomix_trt_plugins.so"
  link_rc=0
  if [[ $errors -eq 0 ]]; then
    set +e
    link_log="$("$cxx" -shared -o "$lib" "${objs[@]}" "$cuda_obj" "$cudart_static" -ldl -lpthread -lrt \
      -Wl,--no-undefined -Wl,--exclude-libs,ALL -Wl,--version-script="$plugins/tensorrt/exports.map" 2>&1)"
    link_rc=$?
    set -e
    [[ -n "$link_log" ]] && echo "$link_log"
  fi
  exports="-"
  needs_nvinfer="-"
  if [[ $errors -eq 0 && $link_rc -eq 0 ]]; then
    exports="$(nm -D --defined-only "$lib" | awk '{print $3}' | sort | tr '\n' ' ')"
    needs_nvinfer="$(readelf -d "$lib" | grep -c 'NEEDED.*\(nvinfer\|libcuda\.so\)' || true)"
  fi
  echo "TensorRT $version: compile errors=$errors warnings=$warnings link_rc=$link_rc exports=[${exports% }] nvinfer/libcuda NEEDED=$needs_nvinfer -> $lib"
  if [[ $errors -ne 0 || $warnings -ne 0 || $link_rc -ne 0 || "${exports% }" != "getCreators setLoggerFinder" || "$needs_nvinfer" != "0" ]]; then
    status=1
  fi
done
if [[ $found -eq 0 ]]; then
  echo "no tensorrt-*/include/NvInferVersion.h under $third_party${only:+ (version $only)}" >&2
  exit 2
fi
exit $status
