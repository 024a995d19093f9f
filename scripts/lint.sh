#!/usr/bin/env bash
# Lint: what .ci/run runs before the tests, and what to run before a commit.
#   Python: ruff (layout at 100 columns, import order, pyflakes, bugbear, pyupgrade, ...; pyproject.toml)
#   C/C++/CUDA: clang-format (.clang-format; plugins/tensorrt/.clang-format for TensorRT's layout)
# Both are pinned in the [dev] extra, so every machine gives the same verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
"$BIN/ruff" format --check .
"$BIN/ruff" check .
git ls-files -z -- '*.c' '*.h' '*.cpp' '*.cu' '*.cuh' | xargs -0 "$BIN/clang-format" --dry-run --Werror
echo "lint: ruff and clang-format passed"
