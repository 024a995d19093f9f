"""Run an archive: which scenes still need work, which engine runs them, and the run summary.

    options = ArchiveOptions(model="model.onnx", tile=128)
    summary = run_archive(list_scenes("flights/"), "out/", options)            # sequential, this process
    summary = run_archive(scenes, "out/", options, engine="ray", address=None)  # Ray, see ray_engine

Both engines run :func:`comix.archive.engine.process_scene` per scene, so they give the same products.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from comix.archive.engine import (
    ENGINES,
    ArchiveOptions,
    RunSummary,
    SceneCallback,
    open_archive_backend,
    run_key,
    safe_process_scene,
)
from comix.archive.markers import LOCK_NAME, completed, remove_stale_temporaries, run_lock
from comix.archive.ray_engine import check_ray_options, run_with_ray
from comix.archive.scenes import SceneSpec
from comix.atomic import check_writable
from comix.runtime.errors import RuntimeInputError
from comix.runtime.registry import backend_entry


def plan_run(
    scenes: Sequence[SceneSpec], out_dir: Path, key: str
) -> tuple[list[SceneSpec], list[dict]]:
    """(scenes to do, records of the complete ones, marked ``skipped``)."""
    todo, skipped = [], []
    for spec in scenes:
        record, _ = completed(out_dir, spec, key)
        if record is None:
            todo.append(spec)
        else:
            skipped.append({**record, "status": "skipped", "seconds": 0.0})
    return todo, skipped


def run_archive(
    scenes: Sequence[SceneSpec],
    out_dir: str | Path,
    options: ArchiveOptions,
    engine: str = "sequential",
    on_scene: SceneCallback | None = None,
    scene_progress=None,
    **engine_options,
) -> dict:
    """Segment ``scenes`` into ``out_dir`` (created if missing; its parent must exist); returns the run
    summary.

    ``on_scene(record)`` is called as each scene finishes (skipped ones first); ``scene_progress`` makes a
    per-tile progress callback for a scene (sequential engine); ``engine_options`` go to the Ray engine
    (``address``, ``workers``, ``gpus_per_worker``, ``distribute``).
    """
    out_dir = check_run(out_dir, options, engine, **engine_options)
    created = not out_dir.exists()
    out_dir.mkdir(exist_ok=True)
    try:
        return _run(scenes, out_dir, options, engine, on_scene, scene_progress, engine_options)
    except BaseException:
        if created:  # a run that failed before any product leaves no folder (and no lock) behind
            lock = out_dir / LOCK_NAME
            if [path.name for path in out_dir.iterdir()] == [LOCK_NAME]:
                lock.unlink()
            if not any(out_dir.iterdir()):
                out_dir.rmdir()
        raise


def check_run(
    out_dir: str | Path, options: ArchiveOptions, engine: str = "sequential", **engine_options
) -> Path:
    """Refuse, in one sentence, what can be refused before the output folder exists or an engine starts:
    the engine and its options, the output folder, a model no backend opens; returns ``out_dir`` as a Path.
    :func:`run_archive` calls it; a caller that shows progress calls it first too."""
    if engine not in ENGINES:
        raise RuntimeInputError(f"--engine: got {engine!r}, expected one of {list(ENGINES)}")
    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        raise RuntimeInputError(
            f"output folder {out_dir}: its parent {out_dir.parent} does not exist, expected an "
            "existing folder"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise RuntimeInputError(f"output {out_dir}: got a file, expected a folder for many scenes")
    check_writable(out_dir)
    backend_entry(options.backend, options.model)  # a missing model, or a kind no backend opens
    if engine == "ray":
        check_ray_options(**engine_options)
    return out_dir


def _run(scenes, out_dir, options, engine, on_scene, scene_progress, engine_options) -> dict:
    key = run_key(options)
    with run_lock(out_dir):
        remove_stale_temporaries(out_dir, [spec.name for spec in scenes])
        summary = RunSummary(out_dir, scenes, options, key, engine)
        todo, skipped = plan_run(scenes, out_dir, key)
        for record in skipped:
            summary.add(record)
            if on_scene:
                on_scene(record)

        def finished(record: dict) -> None:
            summary.add(record)
            if on_scene:
                on_scene(record)

        if todo:
            if engine == "sequential":
                backend = open_archive_backend(options)
                for spec in todo:
                    progress = scene_progress(spec) if scene_progress else None
                    finished(safe_process_scene(backend, spec, out_dir, options, key, progress))
            else:
                run_with_ray(todo, out_dir, options, key, finished, **engine_options)
        return summary.write()
