#!/usr/bin/env bash
# Cross-build the flight runtime for aarch64 (Jetson's CPU, most satellite computers) and check it under
# qemu against the x86-64 build on the same tiles.
#
#   bash scripts/cross-aarch64.sh [--model MODEL.onnx] [--tiles 2x2] [--tile 64] [--march armv8-a]
#                                 [--ort-version 1.28.0] [--out build/cross-aarch64]
#
# 1. installs what is missing (only that): g++/gcc-aarch64-linux-gnu, qemu-user-static, cmake (Debian
#    packages, through scripts/system_packages.sh --cross-aarch64; needs root, else says what to install);
# 2. downloads ONNX Runtime's aarch64 wheel (pip download --platform manylinux_2_27_aarch64; 1.28.0 is the
#    newest aarch64 release) and takes libonnxruntime.so.<version> out of it;
# 3. cross-builds libcomix_infer.so + comix-run + the CPU op library libcomix_ort_dcn.so with CMake
#    (CPU kernels for --march, default armv8-a: every 64-bit Arm core);
# 4. runs comix-run on a scene of --tiles tiles of --tile pixels under qemu-aarch64 and the x86-64 comix-run
#    (plugins/build/capi, built when missing) on the same scene, and compares logits and classes; then
#    the same scene as a pushbroom line stream (comix-run --stream: comix infer's tiling and blending) on
#    both, whose classes must be identical too.
#
# The model (--model) should be a trained one (e.g. runs/demo/model.onnx from `comix demo`): an untrained
# network's logits tie within rounding, and its classes then differ between CPUs for no fault of either
# build. Without --model, a small network with real 2-D and 3-D deformable convolutions and well-separated
# logits (comix.export.testing.TinyHsiXNet, fixed seed) is exported into --out.
#
# Tolerance: max |logit diff| <= 1e-4 x max(1, max |logit|), and every class equal. The two builds use
# different SIMD kernels, FMA contraction and summation orders, so they agree to rounding, not bit for bit;
# measured: 5.4e-7 on the default network (logits up to 0.63), 3.0e-5 on comix_t trained by `comix demo`
# (logits up to 4.4, 6 tiles of 128x128). A model with recorded digests (comix.model_digest) is opened
# with --verify on both, so the digest check runs on aarch64 too.
# Prints no timing from qemu (emulation says nothing about a real core). The last line is exactly
#   aarch64: <N> tiles, max |logit diff| <d> vs x86-64, classes identical
# and the exit status 0 only then; 1 when they differ (the last line says how), 2 for bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"

model=""
tiles="2x2"
tile=64
march="armv8-a"
ort_version="1.28.0"
out="$REPO/build/cross-aarch64"
tolerance="1e-4"  # x max(1, max |logit|)
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) model="$2"; shift 2 ;;
        --tiles) tiles="$2"; shift 2 ;;
        --tile) tile="$2"; shift 2 ;;
        --march) march="$2"; shift 2 ;;
        --ort-version) ort_version="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "cross-aarch64: got the unknown argument '$1', expected an option of --help" >&2; exit 2 ;;
    esac
done
[[ "$tiles" =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] || { echo "cross-aarch64: --tiles: got '$tiles', expected RxC, e.g. 2x2" >&2; exit 2; }
[[ "$tile" =~ ^[1-9][0-9]*$ ]] || { echo "cross-aarch64: --tile: got '$tile', expected a positive number" >&2; exit 2; }
[[ -z "$model" || -f "$model" ]] || { echo "cross-aarch64: --model: got '$model', expected an existing .onnx file" >&2; exit 2; }
[[ -x "$PYTHON" ]] || { echo "cross-aarch64: got no $PYTHON, expected the project's environment (bash scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"

say() { echo "cross-aarch64: $*"; }

# ---------------------------------------------------------------------------------- 1. system packages
# the same installer as the setup's (one apt-get per missing package; needs root, else says what to install)
missing="$(bash scripts/system_packages.sh --cross-aarch64 | tee /dev/stderr | sed -n 's/^missing://p' | tail -n 1)"
if [[ -n "${missing// /}" ]]; then
    echo "cross-aarch64: got no$missing, expected them installed (bash scripts/system_packages.sh --cross-aarch64)" >&2
    exit 2
fi
qemu="$(command -v qemu-aarch64-static || command -v qemu-aarch64)"
sysroot=/usr/aarch64-linux-gnu  # the cross toolchain's libc and libstdc++
say "toolchain $(aarch64-linux-gnu-g++ -dumpversion), $("$qemu" --version | head -1)"
# qemu's file prefix (-L): the cross libc for the loader, and an Arm /proc/cpuinfo. qemu-user passes the
# host's x86 /proc/cpuinfo through, on which ONNX Runtime's cpuinfo crashes while the library loads
# (NULL dereference after reading /sys/devices/system/cpu; qemu 7.2, ORT 1.28). qemu looks every path up
# under the prefix first, so the program sees this cpuinfo: one Neoverse-N1 entry (implementer 0x41, part
# 0xd0c) per host core. It describes the core to cpuinfo only; the instructions run are what qemu emulates.
qemu_root="$out/qemu-root"
mkdir -p "$qemu_root/proc"
ln -sfn "$sysroot/lib" "$qemu_root/lib"
for ((i = 0; i < $(nproc); i++)); do
    printf 'processor\t: %d\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n' "$i"
done >"$qemu_root/proc/cpuinfo"
run_aarch64() { "$qemu" -L "$qemu_root" "$@"; }

# ------------------------------------------------------------------------ 2. ONNX Runtime for aarch64
ort_dir="$out/onnxruntime-$ort_version"
ort_lib="$(ls "$ort_dir"/libonnxruntime.so.* 2>/dev/null | head -1 || true)"
if [[ -z "$ort_lib" ]]; then
    say "downloading onnxruntime $ort_version for manylinux_2_27_aarch64"
    mkdir -p "$ort_dir/wheel"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_27_aarch64 \
        --python-version 3.11 --implementation cp "onnxruntime==$ort_version" -d "$ort_dir/wheel"
    wheel="$(ls "$ort_dir"/wheel/onnxruntime-*.whl | head -1)"
    "$PYTHON" - "$wheel" "$ort_dir" <<'EOF'
import sys, zipfile
from pathlib import Path
wheel, target = sys.argv[1], Path(sys.argv[2])
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if n.startswith("onnxruntime/capi/libonnxruntime.so.")]
    if len(names) != 1:
        sys.exit(f"{wheel}: got {names}, expected one onnxruntime/capi/libonnxruntime.so.<version>")
    (target / Path(names[0]).name).write_bytes(archive.read(names[0]))
EOF
    rm -rf "$ort_dir/wheel"
    ort_lib="$(ls "$ort_dir"/libonnxruntime.so.* | head -1)"
fi
file_kind="$(file -b "$ort_lib" 2>/dev/null || readelf -h "$ort_lib" | grep Machine)"
[[ "$file_kind" == *aarch64* || "$file_kind" == *AArch64* ]] || { echo "cross-aarch64: $ort_lib: got '$file_kind', expected an aarch64 library" >&2; exit 1; }
say "onnxruntime library $(basename "$ort_lib")"

# --------------------------------------------------------------------------------- 3. cross-build
ort_headers="$(ls -d "$REPO"/plugins/build/third_party/onnxruntime-*/include 2>/dev/null | head -1 || true)"
toolchain="$out/aarch64-toolchain.cmake"
cat >"$toolchain" <<EOF
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH $sysroot)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
EOF
eigen_dir="$(dirname "$(ls /usr/share/eigen3/cmake/Eigen3Config.cmake /usr/lib/cmake/eigen3/Eigen3Config.cmake 2>/dev/null | head -1)")"
say "cross-building libcomix_infer.so, comix-run and libcomix_ort_dcn.so (-march=$march)"
cmake -S plugins -B "$out/build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
    -DCOMIX_BUILD_CUDA=OFF -DCOMIX_BUILD_TENSORRT=OFF -DCOMIX_CPU_MARCH="$march" -DEigen3_DIR="$eigen_dir" \
    -DONNXRUNTIME_LIBRARY="$ort_lib" ${ort_headers:+-DONNXRUNTIME_INCLUDE_DIR="$ort_headers"} >"$out/configure.log" 2>&1 \
    || { tail -20 "$out/configure.log" >&2; echo "cross-aarch64: CMake configure failed (log: $out/configure.log)" >&2; exit 1; }
cmake --build "$out/build" --parallel "$(nproc)" --target comix_infer comix-run comix_ort_dcn >"$out/build.log" 2>&1 \
    || { grep -m 20 -i "error" "$out/build.log" >&2; echo "cross-aarch64: the build failed (log: $out/build.log)" >&2; exit 1; }
for lib in "$out/build/capi/libcomix_infer.so" "$out/build/capi/comix-run" "$out/build/onnxruntime/libcomix_ort_dcn.so"; do
    machine="$(readelf -h "$lib" | sed -n 's/.*Machine: *//p')"
    [[ "$machine" == AArch64 ]] || { echo "cross-aarch64: $lib: got machine '$machine', expected AArch64" >&2; exit 1; }
done
exports="$(aarch64-linux-gnu-nm -D --defined-only "$out/build/onnxruntime/libcomix_ort_dcn.so" | awk '{print $3}' | tr '\n' ' ')"
[[ "$exports" == "RegisterCustomOps " ]] || { echo "cross-aarch64: libcomix_ort_dcn.so exports [$exports], expected [RegisterCustomOps]" >&2; exit 1; }
say "built: $(cd "$out/build" && ls capi/libcomix_infer.so capi/comix-run onnxruntime/libcomix_ort_dcn.so | tr '\n' ' ')(AArch64)"

# ------------------------------------------------------------------------------- 4. model and scene
x86_run="$REPO/plugins/build/capi/comix-run"
if [[ ! -x "$x86_run" ]]; then
    say "building the x86-64 C API (plugins/build)"
    "$PYTHON" -m comix.plugins.build --no-cuda --target comix_infer --target comix-run >"$out/x86-build.log" 2>&1 \
        || { tail -20 "$out/x86-build.log" >&2; exit 1; }
fi
if [[ -z "$model" ]]; then
    model="$out/tiny.onnx"
    if [[ ! -f "$model" ]]; then
        say "exporting a small network with 2-D and 3-D deformable convolutions (no --model given)"
        "$PYTHON" - "$model" <<'EOF'
import sys
import onnx
import torch
from comix.export.exporter import TorchOnnxExporter
from comix.export.passes import FoldBatchNorm, ScopeNodeNames, Simplify
from comix.export.testing import TinyHsiXNet
from comix.metadata import ModelRecord

net = TinyHsiXNet(bands=16, x_channels=1, classes=5, width=8, seed=0).eval()
axes = {0: "batch", 2: "height", 3: "width"}
exporter = TorchOnnxExporter(["hsi", "x"], ["logits"], dynamic_axes={0: axes, 1: axes})
model = Simplify()(FoldBatchNorm()(ScopeNodeNames()(exporter(net, (torch.randn(2, 16, 32, 32), torch.randn(2, 1, 32, 32))))))
ModelRecord(model_name="tiny-aarch64-check", class_names=[f"class {i}" for i in range(5)], hsi_bands=16, x_channels=1).write_onnx(model)
from comix.model_digest import stamp
with open(sys.argv[1], "wb") as handle:
    handle.write(stamp(model.SerializeToString()))
EOF
    fi
fi
rows="${tiles%x*}"
cols="${tiles#*x}"
scene="$out/scene.bsq"
# a deterministic scene: smooth spatial structure plus noise, each band at its own scale (also written as
# band-interleaved lines for the line stream)
"$PYTHON" - "$model" "$scene" "$((rows * tile))" "$((cols * tile))" "$out/scene.bil" <<'EOF'
import sys
import numpy as np
import onnx
from comix.data.envi_io import write_envi

model, scene, height, width = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
graph = onnx.load(model, load_external_data=False).graph
bands, x_channels = (i.type.tensor_type.shape.dim[1].dim_value for i in graph.input[:2])
rng = np.random.default_rng(0)
rows, cols = np.mgrid[0:height, 0:width]
pattern = np.sin(rows / 9.0) + np.cos(cols / 13.0)
hsi = 0.3 + 0.4 * pattern[None] * np.linspace(0.5, 1.5, bands)[:, None, None] + rng.normal(0, 0.2, (bands, height, width))
x = 10 + 5 * pattern[None] + rng.normal(0, 1, (x_channels, height, width))
write_envi(scene, np.concatenate([hsi, x]).astype(np.float32))
np.concatenate([hsi, x]).astype("<f4").transpose(1, 0, 2).tofile(sys.argv[5])
EOF

# ------------------------------------------------------------------------------------- 5. run, compare
verify=()
if "$PYTHON" -c "import sys; from comix.model_digest import recorded; sys.exit(recorded(open(sys.argv[1], 'rb').read()) is None)" "$model"; then
    verify=(--verify)
fi
say "running $(basename "$model") on $((rows * cols)) tiles of ${tile}x${tile} ${verify[*]:+(digests verified) }x86-64 natively, aarch64 under qemu"
"$x86_run" "$model" "$scene" "$out/classes.x86_64.bsq" --tile "$tile" --logits "$out/logits.x86_64.f32" -q "${verify[@]}"
# -q: comix-run's summary has timings, and no timing from qemu is quoted
run_aarch64 "$out/build/capi/comix-run" "$model" "$scene" "$out/classes.aarch64.bsq" --tile "$tile" \
    --logits "$out/logits.aarch64.f32" -q "${verify[@]}"
say "streaming the same scene line by line (comix-run --stream) on both"
"$x86_run" --stream --width "$((cols * tile))" --tile "$tile" -q "${verify[@]}" "$model" "$out/scene.bil" \
    "$out/stream.x86_64.u8"
run_aarch64 "$out/build/capi/comix-run" --stream --width "$((cols * tile))" --tile "$tile" -q "${verify[@]}" \
    "$model" "$out/scene.bil" "$out/stream.aarch64.u8"
"$PYTHON" - "$out" "$((rows * cols))" "$tolerance" <<'EOF'
import sys
from pathlib import Path

import numpy as np

out, tiles, tolerance = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
a = np.fromfile(out / "logits.x86_64.f32", np.float32)
b = np.fromfile(out / "logits.aarch64.f32", np.float32)
ca = np.fromfile(out / "classes.x86_64.bsq", np.uint8)
cb = np.fromfile(out / "classes.aarch64.bsq", np.uint8)
if a.shape != b.shape or ca.shape != cb.shape or a.size == 0:
    print(f"aarch64: {tiles} tiles, outputs of different sizes ({a.size} vs {b.size} logits) vs x86-64")
    sys.exit(1)
diff = float(np.abs(a.astype(np.float64) - b).max())
scale = float(np.abs(a).max())
tolerance *= max(1.0, scale)  # relative to the largest logit
differ = int((ca != cb).sum())
print(f"cross-aarch64: logits up to |{scale:.3g}|, tolerance {tolerance:.3g}; {ca.size} pixels compared")
sa = np.fromfile(out / "stream.x86_64.u8", np.uint8)
sb = np.fromfile(out / "stream.aarch64.u8", np.uint8)
if sa.shape != ca.shape or sb.shape != ca.shape:
    print(f"aarch64: {tiles} tiles, line streams of {sa.size} and {sb.size} labels, expected {ca.size}")
    sys.exit(1)
stream_differ = int((sa != sb).sum())
print(f"cross-aarch64: line stream: classes differ from x86-64 at {stream_differ} of {sa.size} pixels")
if stream_differ:
    print(f"aarch64: {tiles} tiles, line stream classes differ at {stream_differ} pixels")
    sys.exit(1)
if differ:
    print(f"aarch64: {tiles} tiles, max |logit diff| {diff:.3g} vs x86-64, classes differ at {differ} pixels")
    sys.exit(1)
if not diff <= tolerance:
    print(f"aarch64: {tiles} tiles, max |logit diff| {diff:.3g} vs x86-64 (tolerance {tolerance:g}), classes identical")
    sys.exit(1)
print(f"aarch64: {tiles} tiles, max |logit diff| {diff:.3g} vs x86-64, classes identical")
EOF
