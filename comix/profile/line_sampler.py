"""A tool that prints one sample per line (``nvidia-smi -lms``, ``tegrastats``) read on a thread while the
measured code runs."""

from __future__ import annotations

import subprocess
import threading


class LineSampler:
    """Base of the samplers: :meth:`start` runs the command and hands each stdout line to :meth:`on_line`;
    leaving the ``with`` block stops the tool (terminate, then kill after 5 s) and joins the reader."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def start(self, command: list[str]) -> None:
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def on_line(self, line: str) -> None:
        raise NotImplementedError

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self.on_line(line)

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._thread is not None:
            self._thread.join(timeout=5)
