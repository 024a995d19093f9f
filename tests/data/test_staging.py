"""Staged folder writes: all or nothing under the final name, refusals before anything is touched."""

from __future__ import annotations

import pytest

from comix.data.errors import DataError
from comix.data.staging import staged_folder, staging_path


def test_complete_block_renames_the_staging_folder(tmp_path):
    out = tmp_path / "deep" / "scene"
    with staged_folder(out) as staging:
        assert staging == tmp_path / "deep" / ".scene.partial" and staging.is_dir()
        assert not out.exists(), "the final name must not exist while writing"
        (staging / "a.txt").write_text("new")
    assert (out / "a.txt").read_text() == "new"
    assert not staging_path(out).exists()


def test_failed_block_leaves_nothing_and_keeps_the_old_folder(tmp_path):
    out = tmp_path / "scene"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with staged_folder(out, overwrite=True) as staging:
            (staging / "half.txt").write_text("half")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene"]
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_non_empty_folder_needs_overwrite(tmp_path):
    out = tmp_path / "scene"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(
        DataError, match=r"got a folder that is not empty, expected an absent or empty folder"
    ):
        with staged_folder(out):
            pytest.fail("the block must not run for a refused output")
    assert (out / "keep.txt").read_text() == "mine" and not staging_path(out).exists()
    with staged_folder(out, overwrite=True) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]


def test_empty_folder_is_fine_a_file_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with staged_folder(tmp_path / "empty") as staging:
        (staging / "x").write_text("x")
    assert (tmp_path / "empty" / "x").is_file()
    (tmp_path / "file").write_text("f")
    with pytest.raises(DataError, match=r"got a file, expected a folder"):
        with staged_folder(tmp_path / "file", overwrite=True):
            pass
    assert (tmp_path / "file").read_text() == "f"


def test_leftover_staging_folder_of_an_interrupted_run_is_replaced(tmp_path):
    out = tmp_path / "scene"
    staging_path(out).mkdir()
    (staging_path(out) / "stale.txt").write_text("stale")
    with staged_folder(out) as staging:
        (staging / "fresh.txt").write_text("fresh")
    assert [p.name for p in out.iterdir()] == ["fresh.txt"]
