"""The API contract check: our engine code uses only TensorRT Python names every supported release defines.

Reads the pybind11 sources of TensorRT's Python bindings (``python/src`` of NVIDIA/TensorRT ``release/10.3``,
``release/10.13``, ``release/11.1``; fetched into ``third_party/tensorrt-<ver>/python/src``, git-ignored) and
fails if comix.tensorrt or the TensorRT backend uses a class, method, property, enum or flag that a
supported release lacks — ungated, or outside the version range of the :data:`comix.tensorrt.version.FEATURES`
entry that gates it. Runs where those sources are present, skips with the reason elsewhere (CI). The
reader itself is tested on the CPU everywhere, on a small source written here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from api_contract import Use, binding_names, engine_uses, missing_uses

from comix.tensorrt.version import CHECKED_RELEASES, FEATURES, Capabilities, TrtVersion

REPO = Path(__file__).resolve().parents[2]
ENGINE_CODE = sorted((REPO / "comix" / "tensorrt").glob("*.py")) + [
    REPO / "comix" / "runtime" / "tensorrt_backend.py"
]
SOURCES = {
    version: REPO / "third_party" / f"tensorrt-{version}" / "python" / "src"
    for version in CHECKED_RELEASES
}
PRESENT = {v: p for v, p in SOURCES.items() if p.is_dir()}
SKIP = (
    "TensorRT binding sources absent: fetch python/src of NVIDIA/TensorRT release/<ver> into "
    "third_party/tensorrt-<ver>/ (never commit them); see docs/tensorrt.md"
)


@pytest.fixture(scope="module")
def uses() -> list[Use]:
    found = engine_uses(ENGINE_CODE)
    assert len(found) > 60, f"the reader found only {len(found)} TensorRT uses in the engine code"
    return found


@pytest.fixture(scope="module", params=sorted(PRESENT) or ["none"])
def release(request) -> tuple[str, dict[str, set[str]]]:
    if request.param not in PRESENT:
        pytest.skip(SKIP)
    return request.param, binding_names(PRESENT[request.param])


def _covered(feature: str | None, version: str) -> bool:
    return feature is None or FEATURES[feature].covers(TrtVersion.parse(version))


@pytest.mark.tensorrt
def test_bindings_were_read(release):
    version, names = release
    for cls, member in (
        ("Builder", "build_serialized_network"),
        ("IExecutionContext", "execute_async_v3"),
        ("ICudaEngine", "get_tensor_name"),
        ("Logger", "WARNING"),
        ("IPluginRegistry", "load_library"),
    ):
        assert member in names.get(cls, set()), (
            f"TensorRT {version}: reader found no {cls}.{member}"
        )
    assert sum(len(v) for v in names.values()) > 800


@pytest.mark.tensorrt
def test_engine_code_uses_only_names_every_release_defines(release, uses):
    version, names = release
    missing = [u for u in missing_uses(uses, names) if _covered(u.feature, version)]
    assert not missing, f"TensorRT {version} lacks: " + ", ".join(
        f"{u.name} ({u.where})" for u in missing
    )


@pytest.mark.tensorrt
def test_feature_ranges_match_the_bindings(release):
    """A feature's names exist in every release it covers, and (where marked) in none below its start."""
    version, names = release
    for feature_name, feature in FEATURES.items():
        for api in feature.api:
            owner, _, member = api.partition(".")
            present = member in names.get(owner, set())
            if feature.covers(TrtVersion.parse(version)):
                assert present, (
                    f"{feature_name}: TensorRT {version} has no {api}, expected it from {feature.since}"
                )
            elif feature.absent_before and TrtVersion.parse(version) < feature.since:
                assert not present, (
                    f"{feature_name}: TensorRT {version} already has {api}; the gate starts too late"
                )


def test_gated_names_are_used_only_under_their_gate(uses):
    gated = {api: name for name, feature in FEATURES.items() for api in feature.api}
    wrong = [u for u in uses if u.name in gated and u.feature != gated[u.name]]
    assert not wrong, "gated TensorRT names used outside `if caps.<feature>`: " + ", ".join(
        f"{u.name} at {u.where} (gate {gated[u.name]})" for u in wrong
    )
    assert {u.name for u in uses} >= set(gated), (
        "every gated name should be used (else drop the feature)"
    )


def test_the_reader_catches_a_removed_flag(tmp_path):
    """Self-test on written sources: a flag present in one release and removed in the next is reported
    there."""
    binding = textwrap.dedent("""
        void bindCore(py::module& m) {
            py::enum_<BuilderFlag>(m, "BuilderFlag", py::arithmetic())
                .value("FP16", BuilderFlag::kFP16)
                .value("GPU_FALLBACK", BuilderFlag::kGPU_FALLBACK);
            py::class_<IBuilderConfig, std::unique_ptr<IBuilderConfig, py::nodelete>> config{
                m, "IBuilderConfig"};
            config.def("set_flag", &IBuilderConfig::setFlag, "flag"_a);
            py::class_<ILogger, PyLogger> base{m, "ILogger"};
            py::enum_<ILogger::Severity>(base, "Severity")
                .value("WARNING", ILogger::Severity::kWARNING).export_values();
            py::class_<DefaultLogger, ILogger>(m, "Logger").def(py::init<>());
        }""")
    old, new = tmp_path / "old" / "infer", tmp_path / "new" / "infer"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    (old / "pyCore.cpp").write_text(binding)
    (new / "pyCore.cpp").write_text(binding.replace('.value("FP16", BuilderFlag::kFP16)\n', ""))
    code = tmp_path / "engine.py"
    code.write_text(
        textwrap.dedent("""
        def configure(trt, caps, config):
            logger = trt.Logger(trt.Logger.WARNING)
            config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
            config.set_flag(trt.BuilderFlag.FP16)
            if caps.plugin_override:
                config.set_flag(trt.BuilderFlag.FP16)
    """)
    )
    found = engine_uses([code])
    assert {u.name for u in missing_uses(found, binding_names(old.parent))} == set()
    assert [(u.name, u.feature) for u in missing_uses(found, binding_names(new.parent))] == [
        ("BuilderFlag.FP16", None),
        ("BuilderFlag.FP16", "plugin_override"),
    ]


def test_checked_releases_are_supported():
    for version in CHECKED_RELEASES:
        Capabilities.for_version(version)


RUNTIME_CODE = [
    REPO / "comix" / "tensorrt" / name
    for name in ("runner.py", "layer_profiler.py", "plugin_library.py")
]


@pytest.mark.tensorrt
def test_runtime_code_against_the_installed_lean_runtime():
    """The run path (engine load, I/O, profiler, plugin registry) against a real TensorRT binary: every
    name it uses exists in the installed lean runtime's Python module (what a version-compatible engine
    runs on)."""
    try:
        import tensorrt_lean_bindings as trt
    except ImportError as error:
        pytest.skip(f"TensorRT lean wheels absent ({error}): pip install -e '.[tensorrt-lean]'")
    uses = engine_uses(RUNTIME_CODE)
    assert len(uses) > 20
    missing = []
    for use in uses:
        if use.owner == ("<module>",):
            ok = hasattr(trt, use.member)
        else:
            ok = any(hasattr(getattr(trt, owner, None), use.member) for owner in use.owner)
        if not ok:
            missing.append(f"{use.name} ({use.where})")
    assert not missing, f"TensorRT {trt.__version__} (lean) lacks: {missing}"
