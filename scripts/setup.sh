#!/usr/bin/env bash
# Set up a fresh machine:
#   1. the system build tools for the native plugin library (apt-get, when run as root and missing)
#   2. a virtual environment in .venv with the project and its test tools
#   3. the CPU plugin library (ONNX Runtime custom ops for the 2-D/3-D deformable convolution)
# Usage: bash scripts/setup.sh     then: . .venv/bin/activate
# torch is pinned to the 2.13.0 CPU wheel on purpose: any other spec pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SYSTEM_PACKAGES="cmake g++ make libeigen3-dev npm tar"

missing_tools() {
    local missing=""
    for tool in cmake g++ make npm tar; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
    [ -f /usr/include/eigen3/Eigen/Core ] || [ -f /usr/local/include/eigen3/Eigen/Core ] || missing="$missing eigen3"
    echo "$missing"
}

if [ -n "$(missing_tools)" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing system packages: $SYSTEM_PACKAGES"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $SYSTEM_PACKAGES >/dev/null
    else
        echo "setup: missing$(missing_tools); install them with: sudo apt-get install -y $SYSTEM_PACKAGES" >&2
        echo "setup: continuing without the native plugin library (exported models then need --portable)" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0" -e ".[dev]"
echo "setup: python environment ready in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"

if [ -z "$(missing_tools)" ]; then
    .venv/bin/python -m plugins.build --no-cuda --target comix_ort_dcn
else
    echo "setup: skipped the plugin library build (missing$(missing_tools))" >&2
fi
