"""The cluster engine: scenes, or the tiles of one huge scene, spread over Ray actors.

Each actor (:class:`SceneWorker`) holds one model session (ONNX Runtime or PyTorch) for its whole life:
``num_cpus`` = ``threads`` (at least 1) and ``num_gpus`` = ``gpus_per_worker`` (give 1, or 0.5 to put two
sessions on a GPU, when the backend runs on GPUs). Ray runs on this machine by default (``ray.init`` with
the machine's CPUs, no dashboard) or joins a running cluster given its address (``ray start --head`` on
the head node, ``--address HOST:6379``; inputs, model and output folder on a filesystem every node sees).

* ``distribute="scenes"``: each actor takes the next scene and runs
  :func:`~comix.archive.engine.process_scene` on it, exactly as the sequential engine does — the
  same products, written by the worker.
* ``distribute="tiles"`` (one scene larger than a node would finish soon): this process plans the tiles,
  the actors read and run the batches (:class:`~comix.runtime.streaming.LocalTileRunner` in each actor),
  and this process blends and writes them in order (at most two batches per actor in flight, so memory
  stays bounded). Same batches as the local runner, so the same numbers.
* ``"auto"``: tiles for a single scene on several workers, scenes otherwise.

Ray is an optional extra: ``pip install 'comix-deploy[cluster]'``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

from comix.archive.engine import (
    ArchiveOptions,
    failure_record,
    open_archive_backend,
    process_scene,
    safe_process_scene,
)
from comix.archive.scenes import SceneSpec
from comix.runtime.backend import Backend, ModelIO
from comix.runtime.errors import RuntimeInputError

DISTRIBUTIONS = ("auto", "scenes", "tiles")
IN_FLIGHT_PER_WORKER = 2


def import_ray():
    try:
        import ray
    except ImportError:
        raise RuntimeInputError(
            "--engine ray: Ray is not installed, expected it: pip install 'comix-deploy[cluster]' "
            "(or use --engine sequential)"
        ) from None
    return ray


class SceneWorker:
    """One model session on a Ray worker (wrapped with ``ray.remote`` by :func:`worker_class`)."""

    def __init__(self, options: dict) -> None:
        self.options = ArchiveOptions(**options)
        self.backend = open_archive_backend(self.options)
        self.scene: tuple[str, object, object] | None = (
            None  # (name, source, runner) of the tiles mode
        )

    def info(self) -> tuple[ModelIO, str]:
        return self.backend.info, self.backend.name

    def segment(self, spec: dict, out_dir: str, key: str) -> dict:
        return safe_process_scene(
            self.backend, SceneSpec.from_dict(spec), Path(out_dir), self.options, key
        )

    def run_tiles(self, spec: dict, plan, batch):
        from comix.runtime.scene_source import SceneSource
        from comix.runtime.streaming import LocalTileRunner

        if self.scene is None or self.scene[0] != spec["name"]:
            if self.scene is not None:
                self.scene[1].close()
            scene = SceneSpec.from_dict(spec)
            options = self.options
            source = SceneSource.from_files(
                scene.hsi,
                scene.x,
                nodata=scene.nodata if scene.nodata is not None else options.nodata,
                x_nodata=options.x_nodata,
                name=scene.name,
            )
            self.scene = (
                scene.name,
                source,
                LocalTileRunner(self.backend, source, plan, options.nodata_fill),
            )
        return self.scene[2].run(batch)


def worker_class(ray, threads: int, gpus: float):
    return ray.remote(num_cpus=max(1, threads), num_gpus=gpus)(SceneWorker)


class RemoteModel(Backend):
    """What this process knows of the model the actors hold (its :class:`ModelIO`); it runs nothing here."""

    def __init__(self, info: ModelIO, name: str) -> None:
        self.info, self.name = info, f"{name} (ray)"

    def run(self, hsi, x):  # pragma: no cover - the actors run the model
        raise RuntimeError("RemoteModel runs nothing; the Ray actors do")


def connect(ray, address: str | None, workers: int | None, threads: int) -> bool:
    """Start Ray on this machine or join ``address``; True when this call started it (so it shuts it down)."""
    if ray.is_initialized():
        return False
    if address:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise RuntimeInputError(
                f"--ray-address {address}: could not join the Ray cluster "
                f"({str(error).splitlines()[0]}), expected a running cluster "
                "(`ray start --head` on its head node)"
            ) from None
    else:
        cpus = None if workers is None else workers * max(1, threads)
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    return True


def check_ray_options(
    address: str | None = None,
    workers: int | None = None,
    gpus_per_worker: float = 0.0,
    distribute: str = "auto",
) -> None:
    """Refuse bad Ray options, or a missing Ray, in one sentence (before any output exists)."""
    if distribute not in DISTRIBUTIONS:
        raise RuntimeInputError(
            f"--distribute: got {distribute!r}, expected one of {list(DISTRIBUTIONS)}"
        )
    if workers is not None and workers < 1:
        raise RuntimeInputError(f"--workers: got {workers}, expected >= 1")
    if gpus_per_worker < 0:
        raise RuntimeInputError(f"--gpus-per-worker: got {gpus_per_worker}, expected >= 0")
    import_ray()


def run_with_ray(
    todo: Sequence[SceneSpec],
    out_dir: Path,
    options: ArchiveOptions,
    key: str,
    finished: Callable[[dict], None],
    address: str | None = None,
    workers: int | None = None,
    gpus_per_worker: float = 0.0,
    distribute: str = "auto",
) -> None:
    """Segment ``todo`` with Ray actors, calling ``finished(record)`` as each scene ends
    (see the module doc)."""
    check_ray_options(address, workers, gpus_per_worker, distribute)
    ray = import_ray()
    started = connect(ray, address, workers, options.threads)
    try:
        if workers is None:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            workers = max(1, cpus // max(1, options.threads))
        if distribute == "auto":
            distribute = "tiles" if len(todo) == 1 and workers > 1 else "scenes"
        count = workers if distribute == "tiles" else min(workers, len(todo))
        actor = worker_class(ray, options.threads, gpus_per_worker)
        settings = asdict(options)
        actors = [actor.remote(settings) for _ in range(count)]
        if distribute == "scenes":
            _scenes(ray, actors, lambda: actor.remote(settings), todo, out_dir, key, finished)
        else:
            for spec in todo:
                finished(_tiles(ray, actors, spec, out_dir, options, key))
    finally:
        if started:
            ray.shutdown()


def _scenes(
    ray,
    actors: list,
    replace: Callable,
    todo: Sequence[SceneSpec],
    out_dir: Path,
    key: str,
    finished: Callable[[dict], None],
) -> None:
    """Each free actor takes the next scene; a scene whose actor died (e.g. out of memory) is a failure
    and the actor is replaced."""
    pending = deque(todo)
    running: dict = {}  # future -> (actor, spec, start)

    def submit(worker) -> None:
        spec = pending.popleft()
        running[worker.segment.remote(spec.to_dict(), str(out_dir), key)] = (
            worker,
            spec,
            time.perf_counter(),
        )

    for worker in actors:
        if pending:
            submit(worker)
    while running:
        done, _ = ray.wait(list(running), num_returns=1)
        worker, spec, start = running.pop(done[0])
        try:
            record = ray.get(done[0])
        except ray.exceptions.RayActorError as error:
            record = failure_record(
                spec,
                RuntimeError(f"the Ray worker died ({str(error).splitlines()[0]})"),
                time.perf_counter() - start,
            )
            worker = replace()
        finished(record)
        if pending:
            submit(worker)


def _tiles(
    ray, actors: list, spec: SceneSpec, out_dir: Path, options: ArchiveOptions, key: str
) -> dict:
    """One scene, its tile batches spread over the actors, blended and written here."""
    info, name = ray.get(actors[0].info.remote())
    spec_dict = spec.to_dict()

    def executor(plan, source) -> Iterator:
        batches = iter(plan.batches)
        queue: deque = deque()
        for index, batch in enumerate(batches):
            queue.append(actors[index % len(actors)].run_tiles.remote(spec_dict, plan, batch))
            if len(queue) >= IN_FLIGHT_PER_WORKER * len(actors):
                yield ray.get(queue.popleft())
        while queue:
            yield ray.get(queue.popleft())

    start = time.perf_counter()
    try:
        return process_scene(
            RemoteModel(info, name), spec, out_dir, options, key, executor=executor
        )
    except Exception as error:
        if options.fail_fast:
            raise
        return failure_record(spec, error, time.perf_counter() - start)
