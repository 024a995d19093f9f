"""The ``comix.tensorrt`` docstring lists exactly the package's modules (it once named one that did not
exist)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import comix.tensorrt


def test_the_package_doc_names_each_module_once_and_only_real_ones():
    named = re.findall(r":mod:`~comix\.tensorrt\.(\w+)`", comix.tensorrt.__doc__)
    modules = sorted(m.name for m in pkgutil.iter_modules(comix.tensorrt.__path__))
    assert sorted(named) == modules, f"docstring names {sorted(named)}, package has {modules}"
    for name in named:
        importlib.import_module(f"comix.tensorrt.{name}")
