#!/usr/bin/env bash
# Set up a fresh machine:
#   1. the system build tools of the native plugin library, only those missing (scripts/system_packages.sh)
#   2. a virtual environment in .venv with the project and its test tools
#   3. the CPU plugin library (ONNX Runtime custom ops for the 2-D/3-D deformable convolution)
#   4. the aarch64 cross compilers and qemu-user, only those missing, for scripts/cross-aarch64.sh and its
#      test (optional: without them that test is skipped with its reason)
# Usage: bash scripts/setup.sh     then: . .venv/bin/activate
# Without the build tools the setup still completes: the pure-Python path works, and exported models
# then use the portable graph (comix export --portable; comix demo chooses it by itself).
# torch is pinned to the 2.13.0 CPU wheel on purpose: any other spec pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

missing=$(bash scripts/system_packages.sh | tee /dev/stderr | sed -n 's/^missing://p' | tail -n 1)

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0" -e ".[dev,tensorrt-lean]"
echo "setup: python environment ready in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"

if [ -z "${missing// /}" ]; then
    .venv/bin/python -m comix.plugins.build --no-cuda --target comix_ort_dcn --target comix_infer --target comix-run >/dev/null
    echo "setup: built the CPU plugin library (plugins/build/onnxruntime/libcomix_ort_dcn.so) and the C API (plugins/build/capi)"
else
    echo "setup: skipped the plugin library build (missing:$missing); the pure-Python path and" \
         "portable ONNX graphs work without it" >&2
fi

bash scripts/system_packages.sh --cross-aarch64 >&2
