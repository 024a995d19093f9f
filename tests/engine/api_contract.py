"""Read the TensorRT Python API two ways, for the API contract check (test_api_contract.py):

* :func:`binding_names` — the names a TensorRT release's pybind11 sources (``python/src`` of NVIDIA/TensorRT)
  define: ``{python class name: {member names}}`` (inherited members included), plus ``"<module>"`` for
  module-level functions. Classes come from ``py::class_<...>(scope, "Name")`` / ``py::enum_<...>`` (also
  the ``name{m, "Name"}`` form), members from the ``.def*("name")`` / ``.value("NAME")`` chains of the
  definition statement and of later ``var.def(...)`` statements; ``export_values()`` puts an enum's values
  into the enclosing class too.
* :func:`engine_uses` — the TensorRT names our engine code uses, read from its source: ``trt.X`` and
  ``trt.X.Y`` chains (``trt`` is the module's name everywhere in comix.tensorrt), members of objects named
  by the convention in :data:`OBJECTS` (``builder.create_network`` -> ``Builder.create_network``;
  ``self.engine.get_tensor_name`` likewise), and methods of our subclasses of TensorRT interfaces. A use
  inside ``if caps.<feature>`` (or ``... and caps.<feature>``) is marked with that feature.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

# variable (or self attribute) name -> binding classes it holds, in comix.tensorrt and the TensorRT backend
OBJECTS = {
    "builder": ("Builder",),
    "network": ("INetworkDefinition",),
    "parser": ("OnnxParser",),
    "config": ("IBuilderConfig",),
    "profile": ("IOptimizationProfile",),
    "runtime": ("Runtime",),
    "engine": ("ICudaEngine",),
    "context": ("IExecutionContext",),
    "registry": ("IPluginRegistry",),
    "cache": ("ITimingCache",),
    "layer": ("ILayer", "IPluginV3Layer", "IPluginV2Layer"),
    "core": ("IPluginV3OneCore",),
}
# names the tensorrt package adds in Python (its __init__.py), not in the bindings
PYTHON_LEVEL = {"__version__", "nptype", "volume"}

_DEFINITION = re.compile(r"py::(class_|enum_)\s*<")
_MEMBER = re.compile(r"\.\s*(?:def\w*|value)\s*\(\s*\"(\w+)\"")
_MODULE_DEF = re.compile(r"\bm\s*\.\s*def\s*\(\s*\"(\w+)\"")


def _matching(text: str, start: int, open_char: str, close_char: str) -> int:
    """Index just past the bracket that closes the one at ``start``."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == open_char:
            depth += 1
        elif text[index] == close_char:
            depth -= 1
            if depth == 0:
                return index + 1
    return len(text)


def _statement_end(text: str, start: int) -> int:
    """Index of the ``;`` that ends the statement starting at ``start`` (brackets and strings skipped)."""
    depth, index, quote = 0, start, None
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ";" and depth <= 0:
            return index
        index += 1
    return len(text)


@dataclass
class _Definition:
    python_name: str
    cpp_names: list[str]  # template arguments: the bound type first, then bases/holders/trampolines
    scope: str  # "m" or the variable of the enclosing class
    variable: str | None
    members: set[str]
    export_values: bool


def _definitions(text: str) -> list[_Definition]:
    found = []
    for match in _DEFINITION.finditer(text):
        open_angle = match.end() - 1
        close_angle = _matching(text, open_angle, "<", ">")
        arguments = [
            a.strip() for a in re.split(r",(?![^<]*>)", text[open_angle + 1 : close_angle - 1])
        ]
        rest = re.match(r"\s*(\w+)?\s*[({]\s*(\w+)\s*,\s*\"(\w+)\"", text[close_angle:])
        if not rest:
            continue
        end = _statement_end(text, match.start())
        statement = text[match.start() : end]
        found.append(
            _Definition(
                rest.group(3),
                arguments,
                rest.group(2),
                rest.group(1),
                set(_MEMBER.findall(statement)),
                "export_values" in statement,
            )
        )
    return found


def binding_names(source: Path) -> dict[str, set[str]]:
    """``{python class: members incl. inherited}`` and ``"<module>"``: module functions and class names."""
    definitions: list[_Definition] = []
    module: set[str] = set()
    for path in sorted(Path(source).rglob("*.cpp")):
        text = path.read_text(errors="replace")
        file_definitions = _definitions(text)
        variables = {d.variable: d for d in file_definitions if d.variable}
        for variable, definition in variables.items():
            for use in re.finditer(
                rf"(?<![\w.]){re.escape(variable)}\s*\.\s*(?:def\w*|value)\s*\(", text
            ):
                definition.members |= set(
                    _MEMBER.findall(text[use.start() - 1 : _statement_end(text, use.start())])
                )
        for definition in file_definitions:
            if definition.export_values and definition.scope in variables:
                variables[definition.scope].members |= definition.members
        definitions += file_definitions
        module |= set(_MODULE_DEF.findall(text))
    by_cpp = {d.cpp_names[0].split("::")[-1]: d for d in definitions}
    names: dict[str, set[str]] = {}

    def members(definition: _Definition, seen: frozenset = frozenset()) -> set[str]:
        collected = set(definition.members)
        for base in definition.cpp_names[1:]:
            parent = by_cpp.get(base.split("::")[-1])
            if parent is not None and parent is not definition and parent.python_name not in seen:
                collected |= members(parent, seen | {definition.python_name})
        return collected

    for definition in definitions:
        names.setdefault(definition.python_name, set()).update(members(definition))
    names["<module>"] = module | set(names) | PYTHON_LEVEL
    return names


@dataclass(frozen=True)
class Use:
    """One use of a TensorRT name: ``owner.member`` (owner "<module>" for ``trt.X``), where, under which
    gate."""

    owner: tuple[str, ...]
    member: str
    where: str
    feature: str | None

    @property
    def name(self) -> str:
        return (
            self.member if self.owner == ("<module>",) else f"{'|'.join(self.owner)}.{self.member}"
        )


def _gates(test: ast.expr) -> set[str]:
    """Feature names of ``caps.<feature>`` attributes in an ``if`` test (any depth, ``and`` chains)."""
    return {
        node.attr
        for node in ast.walk(test)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "caps"
    }


def _object(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    ):
        return node.attr
    return None


def engine_uses(paths: list[Path]) -> list[Use]:
    """Every TensorRT name used in ``paths`` (see the module doc)."""
    uses: list[Use] = []
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        gates: dict[int, set[str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.If):
                features = _gates(node.test)
                for inner in [*node.body, node.test]:
                    for child in ast.walk(inner):
                        gates.setdefault(id(child), set()).update(features)
            elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
                features = set().union(*(_gates(v) for v in node.values[:-1]))
                for child in ast.walk(node.values[-1]):
                    gates.setdefault(id(child), set()).update(features)
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', 0)}"
            feature = next(iter(sorted(gates.get(id(node), set()))), None)
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("__")
                and node.attr != "__version__"
            ):
                continue  # Python's own (__class__, __init__ of a subclassed interface)
            if isinstance(node, ast.Attribute):
                base = node.value
                if isinstance(base, ast.Name) and base.id == "trt":
                    uses.append(Use(("<module>",), node.attr, where, feature))
                elif (
                    isinstance(base, ast.Attribute)
                    and isinstance(base.value, ast.Name)
                    and base.value.id == "trt"
                ):
                    uses.append(Use((base.attr,), node.attr, where, feature))
                elif _object(base) in OBJECTS and not (
                    isinstance(base, ast.Name) and base.id == "self"
                ):
                    uses.append(Use(OBJECTS[_object(base)], node.attr, where, feature))
            elif isinstance(node, ast.ClassDef):
                for parent in node.bases:
                    if (
                        isinstance(parent, ast.Attribute)
                        and isinstance(parent.value, ast.Name)
                        and parent.value.id == "trt"
                    ):
                        for item in node.body:
                            if isinstance(item, ast.FunctionDef) and not item.name.startswith("__"):
                                uses.append(
                                    Use(
                                        (parent.attr,),
                                        item.name,
                                        f"{path.name}:{item.lineno}",
                                        None,
                                    )
                                )
    return uses


def missing_uses(uses: list[Use], names: dict[str, set[str]]) -> list[Use]:
    """Uses whose member is absent from every class the owner may be."""
    return [
        use for use in uses if not any(use.member in names.get(owner, set()) for owner in use.owner)
    ]
