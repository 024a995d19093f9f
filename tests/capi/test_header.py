"""comix_infer.h keeps issue 21's declarations exactly, and compiles as C89-clean C99 and as C++."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from capi_helpers import HERE, INCLUDE

# Issue 21's declarations, verbatim (in a text file: its lines are longer than the Python line limit).
ISSUE_DECLARATIONS = (HERE / "issue21_declarations.txt").read_text().split("*/\n", 1)[1]

# Every declared type, checked by the compiler: a changed parameter or field fails to compile (-Werror).
TYPE_CHECK = r"""
#include <stddef.h>
#include "comix_infer.h"
typedef char check_ok[COMIX_OK == 0 && COMIX_FAILED == 1 && COMIX_BAD_INPUT == 2 ? 1 : -1];
typedef char check_options[offsetof(comix_options, verify) == sizeof(int) ? 1 : -1];
typedef char check_task[sizeof(((comix_info *)0)->task) == 32 ? 1 : -1];
typedef char check_name[sizeof(((comix_info *)0)->name) == 64 ? 1 : -1];
typedef char check_info[offsetof(comix_info, task) == 5 * sizeof(int) ? 1 : -1];
int (*f_abi)(void) = comix_abi_version;
int (*f_open)(const char *, const comix_options *, comix_model **) = comix_open;
int (*f_info)(const comix_model *, comix_info *) = comix_get_info;
int (*f_run)(comix_model *, const float *, const float *, int, int, int, float *) = comix_run;
const char *(*f_error)(void) = comix_last_error;
void (*f_close)(comix_model *) = comix_close;
int main(void) { return 0; }
"""


def test_the_issue_declarations_are_there_verbatim():
    header = (INCLUDE / "comix_infer.h").read_text()
    assert ISSUE_DECLARATIONS in header


@pytest.mark.skipif(
    shutil.which("cc") is None or shutil.which("c++") is None, reason="no cc / c++ on PATH"
)
@pytest.mark.parametrize(
    "compiler",
    [["cc", "-std=c99", "-Wpedantic"], ["cc", "-std=c11"], ["c++", "-std=c++17", "-x", "c++"]],
)
def test_the_declared_types(compiler, tmp_path):
    source = tmp_path / "types.c"
    source.write_text(TYPE_CHECK)
    command = [
        *compiler,
        "-Wall",
        "-Wextra",
        "-Werror",
        f"-I{INCLUDE}",
        "-c",
        str(source),
        "-o",
        str(tmp_path / "t.o"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
