"""Whole archives: many scenes from a folder, a glob or a manifest into one output folder — resumable
(done markers), past bad scenes (reported), with a run summary — sequentially or on a Ray cluster.

    from comix.archive import ArchiveOptions, list_scenes, run_archive
    summary = run_archive(list_scenes("flights/manifest.csv"), "out/", ArchiveOptions(model="model.onnx"))

One scene is :func:`comix.runtime.segment.segment_source` (streamed, nodata-aware); this package decides
which scenes, where their products go, when one is done, and who runs it.
"""

from comix.archive.engine import ENGINES, SUMMARY_NAME, ArchiveOptions, process_scene, run_key
from comix.archive.markers import marker_path, scene_output
from comix.archive.run import check_run, run_archive
from comix.archive.scenes import SceneListError, SceneSpec, list_scenes

__all__ = [
    "ENGINES",
    "SUMMARY_NAME",
    "ArchiveOptions",
    "check_run",
    "SceneListError",
    "SceneSpec",
    "list_scenes",
    "marker_path",
    "process_scene",
    "run_archive",
    "run_key",
    "scene_output",
]
