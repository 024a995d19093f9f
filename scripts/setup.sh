#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with the project and its test tools, and the
# CPU plugin library (the ONNX Runtime custom op for the 3-D deformable convolution).
#   bash scripts/setup.sh            # then: . .venv/bin/activate
# torch is pinned to the 2.13.0 CPU wheel on purpose: any other spec pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0" -e ".[dev]"
echo "setup: python environment ready in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
