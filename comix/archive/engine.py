"""What every engine runs per scene of an archive, and the run summary (:func:`comix.archive.run.run_archive`
chooses the engine and drives the run).

Each scene is :func:`process_scene`: open it window by window, stream it through the model into its
products (``OUT/NAME.tif`` ...), then the done marker (:mod:`comix.archive.markers`). Both engines run
exactly that per scene, so they give the same products. A scene that is complete is skipped; one that
fails is recorded with its reason and the run goes on (``fail_fast`` stops at the first). The run
summary (``OUT/run_summary.json``) is rewritten after every scene: scenes, pixels, classes, seconds,
failures with their reasons.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from comix import __version__
from comix.archive.markers import (
    scene_output,
    write_marker,
)
from comix.archive.scenes import SceneSpec
from comix.atomic import write_text_atomic
from comix.hashing import file_sha256
from comix.runtime.backend import Backend
from comix.runtime.defaults import NODATA_FILL
from comix.runtime.errors import RuntimeInputError

ENGINES = ("sequential", "ray")
SUMMARY_NAME = "run_summary.json"
SceneCallback = Callable[[dict], None]


@dataclass
class ArchiveOptions:
    """Model and settings of an archive run (every field but ``threads``, ``fail_fast`` and ``verify``
    changes the products, so it is part of the run key). ``tile``: (H, W) or S; None: the model's own, else
    the default; ``verify``: check the model's recorded digests at open (comix.runtime.integrity)."""

    model: str
    backend: str = "auto"
    tile: tuple[int, int] | int | None = None
    overlap: int | None = None
    batch: int | None = None
    probabilities: bool = False
    cog: bool = False
    nodata: float | None = None
    x_nodata: float | None = None
    nodata_fill: str = NODATA_FILL
    threads: int = 0
    fail_fast: bool = False
    verify: bool = True

    def product_settings(self) -> dict:
        settings = asdict(self)
        for key in ("model", "threads", "fail_fast", "verify"):
            settings.pop(key)
        return settings


def model_digest(model: str | Path) -> str:
    """SHA-256 of an .onnx file, or of a checkpoint folder's weights and config."""
    path = Path(model)
    if path.is_dir():
        return hashlib.sha256(
            "".join(
                file_sha256(p)
                for p in sorted(path.glob("*"))
                if p.is_file() and p.suffix in (".safetensors", ".json")
            ).encode()
        ).hexdigest()
    if not path.is_file():
        raise RuntimeInputError(
            f"model {path}: got no such file or folder, expected an .onnx file or a checkpoint "
            "folder"
        )
    return file_sha256(path)


def run_key(options: ArchiveOptions) -> str:
    """What makes products comparable: the model's digest and the product settings."""
    text = json.dumps(
        {"model_sha256": model_digest(options.model), **options.product_settings()}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def open_archive_backend(options: ArchiveOptions) -> Backend:
    from comix.runtime.segment import open_backend

    return open_backend(options.model, options.backend, options.threads, verify=options.verify)


def process_scene(
    backend: Backend,
    spec: SceneSpec,
    out_dir: Path,
    options: ArchiveOptions,
    key: str,
    progress=None,
    executor=None,
) -> dict:
    """Segment one scene into ``OUT/NAME.*`` and write its done marker; returns its record. Raises on failure
    (nothing is left under the final names then)."""
    from comix.runtime.scene_source import SceneSource
    from comix.runtime.segment import segment_source

    start = time.perf_counter()
    with SceneSource.from_files(
        spec.hsi,
        spec.x,
        nodata=spec.nodata if spec.nodata is not None else options.nodata,
        x_nodata=options.x_nodata,
        name=spec.name,
    ) as source:
        run = segment_source(
            backend,
            source,
            scene_output(out_dir, spec.name),
            tile=options.tile,
            overlap=options.overlap,
            batch=options.batch,
            probabilities=options.probabilities,
            cog=options.cog,
            nodata_fill=options.nodata_fill,
            progress=progress,
            executor=executor,
            summary={
                "scene_name": spec.name,
                "model": str(options.model),
                "hsi": spec.hsi.path,
                "x": [ref.path for ref in spec.x],
            },
        )
    summary = run.summary
    record = {
        "scene": spec.name,
        "status": "done",
        "seconds": time.perf_counter() - start,
        "height": summary["scene"]["height"],
        "width": summary["scene"]["width"],
        "pixels": summary["scene"]["height"] * summary["scene"]["width"],
        "nodata_pixels": summary["nodata"]["pixels"],
        "tiles": summary["tiles"],
        "classes": {row["name"]: row["pixels"] for row in summary["classes"]},
        "products": {k: Path(p).name for k, p in run.paths.items()},
    }
    write_marker(out_dir, spec, key, run.paths, record)
    return record


def failure_record(spec: SceneSpec, error: BaseException, seconds: float) -> dict:
    """The record of a failed scene: its reason in one line (got/expected as the error says it)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if not isinstance(error, (ValueError, OSError)):
        text = f"{type(error).__name__}: {text}"
    return {"scene": spec.name, "status": "failed", "reason": text, "seconds": seconds}


def safe_process_scene(
    backend: Backend,
    spec: SceneSpec,
    out_dir: Path,
    options: ArchiveOptions,
    key: str,
    progress=None,
) -> dict:
    """:func:`process_scene`, with a failure turned into a failure record (what the engines call)."""
    start = time.perf_counter()
    try:
        return process_scene(backend, spec, out_dir, options, key, progress)
    except Exception as error:
        if options.fail_fast:
            raise
        return failure_record(spec, error, time.perf_counter() - start)


class RunSummary:
    """The run summary: rewritten (atomically) after every scene, so an interrupted run leaves a true one."""

    def __init__(
        self,
        out_dir: Path,
        scenes: Sequence[SceneSpec],
        options: ArchiveOptions,
        key: str,
        engine: str,
    ) -> None:
        self.path = Path(out_dir) / SUMMARY_NAME
        self.order = [spec.name for spec in scenes]
        self.records: dict[str, dict] = {}
        self.header = {
            "tool": f"comix {__version__}",
            "model": str(options.model),
            "run_key": key,
            "engine": engine,
            "settings": options.product_settings(),
            "output": str(out_dir),
        }
        self.start = time.perf_counter()

    def add(self, record: dict) -> None:
        self.records[record["scene"]] = record
        self.write()

    def document(self) -> dict:
        records = [self.records[name] for name in self.order if name in self.records]
        finished = [r for r in records if r["status"] in ("done", "skipped")]
        classes: dict[str, int] = {}
        for record in finished:
            for name, pixels in record.get("classes", {}).items():
                classes[name] = classes.get(name, 0) + pixels
        count = {
            status: sum(r["status"] == status for r in records)
            for status in ("done", "skipped", "failed")
        }
        return {
            **self.header,
            "scenes": {
                "total": len(self.order),
                **count,
                "pending": len(self.order) - len(records),
            },
            "pixels": {
                "total": sum(r.get("pixels", 0) for r in finished),
                "nodata": sum(r.get("nodata_pixels", 0) for r in finished),
            },
            "classes": classes,
            "seconds": {
                "run": time.perf_counter() - self.start,
                "scenes_done_this_run": sum(
                    r.get("seconds", 0.0) for r in records if r["status"] == "done"
                ),
            },
            "failures": [
                {"scene": r["scene"], "reason": r["reason"]}
                for r in records
                if r["status"] == "failed"
            ],
            "per_scene": records,
        }

    def write(self) -> dict:
        document = self.document()
        write_text_atomic(self.path, json.dumps(document, indent=2))
        return document
