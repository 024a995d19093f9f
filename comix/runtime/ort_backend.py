"""ONNX Runtime backend: an exported ``.onnx`` (canonical or portable) behind the :class:`Backend` interface.

Input/output names and static sizes are read from the graph; class names, colours, wavelengths and
the rest from the model record (:mod:`comix.metadata`) written by ``comix export``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from comix.errors import FailedError
from comix.metadata import MetadataError, ModelRecord
from comix.model_digest import digests, outline
from comix.runtime.backend import Backend, LayerTime, model_io
from comix.runtime.errors import RuntimeInputError
from comix.runtime.integrity import VERIFIED, check_model_bytes
from comix.runtime.session import SessionFactory, read_model_bytes


def _fixed(dim) -> int | None:
    return dim if isinstance(dim, int) else None


class OnnxRuntimeBackend(Backend):
    """Run an ONNX model with ONNX Runtime; inputs are the first two graph inputs (hsi, x)."""

    name = "onnxruntime"

    def __init__(
        self,
        model: str | os.PathLike | bytes,
        providers: Sequence[str] | None = None,
        threads: int = 0,
        verify: bool = True,
    ) -> None:
        """``model``: a file or its bytes; ``verify``: check the digests recorded in it first
        (:mod:`comix.runtime.integrity`; a mismatch is refused in one sentence)."""
        self.source = model if isinstance(model, (str, os.PathLike)) else None
        self.providers, self.threads, self.verify = providers, threads, verify
        self._open(model)

    @classmethod
    def open(cls, path, options) -> OnnxRuntimeBackend:
        """The registry's way in (:mod:`comix.runtime.registry`)."""
        return cls(path, threads=options.threads, verify=options.verify)

    def _open(self, model) -> None:
        """Check the file (wire format, recorded digests), then let ONNX Runtime read it: no copy of the
        model stays in this process (20 MiB less peak for comix_t) unless a re-check needs one
        (:meth:`weights_digest`). A model given as bytes is used as given."""
        if isinstance(model, (str, os.PathLike)):
            data = read_model_bytes(model)
            self.verification = check_model_bytes(data, str(model), self.verify)
            domains = outline(data).domains
            del data
            self.model_bytes = None
            self.factory = SessionFactory(model, self.providers, self.threads, domains=domains)
        else:
            self.model_bytes = bytes(model)
            self.verification = check_model_bytes(self.model_bytes, "model", self.verify)
            self.factory = SessionFactory(self.model_bytes, self.providers, self.threads)
        self.session = self.factory()
        inputs = self.session.get_inputs()
        if len(inputs) != 2:
            raise RuntimeInputError(
                f"model: got {len(inputs)} inputs {[i.name for i in inputs]}, expected 2 "
                "(hsi (B, bands, H, W), x (B, C, H, W))"
            )
        self.input_names = [i.name for i in inputs]
        self.output_name = self.session.get_outputs()[0].name
        hsi_shape, x_shape = inputs[0].shape, inputs[1].shape
        out_shape = self.session.get_outputs()[0].shape
        try:
            self.record = ModelRecord.from_props(self.session.get_modelmeta().custom_metadata_map)
        except MetadataError as error:
            raise RuntimeInputError(str(error)) from None
        tile = (_fixed(hsi_shape[2]), _fixed(hsi_shape[3]))
        self.info = model_io(
            self.record,
            bands=_fixed(hsi_shape[1]),
            x_channels=_fixed(x_shape[1]),
            classes=_fixed(out_shape[1]) if len(out_shape) > 1 else None,
            tile=tile if None not in tile else None,
            max_batch=_fixed(hsi_shape[0]),
        )

    def weights_digest(self) -> str:
        """SHA-256 of the weights as this backend holds them now. The first call (a guard asking for
        re-checks) reads the file into memory and keeps that copy, the one later calls hash again; it must
        be the file that was verified at open."""
        if self.model_bytes is None:
            data = read_model_bytes(self.source)
            weights = digests(data).weights
            if self.verification.status == VERIFIED and weights != self.verification.weights:
                raise FailedError(
                    f"{self.source}: the file changed after it was opened (its weights digest is now "
                    f"{weights[:8]}…, {self.verification.weights[:8]}… at open)"
                )
            self.model_bytes = data
        return digests(self.model_bytes).weights

    def reload(self) -> None:
        """Open the model again from its file, verified (a re-check found the weights in memory changed)."""
        if self.source is None:
            raise FailedError("the model was given as bytes, so it cannot be reloaded from a file")
        held = self.model_bytes is not None
        self._open(self.source)
        if held:
            self.weights_digest()  # keep holding the (fresh) copy the re-checks hash

    def _feeds(self, hsi: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
        return {
            self.input_names[0]: np.ascontiguousarray(hsi, dtype=np.float32),
            self.input_names[1]: np.ascontiguousarray(x, dtype=np.float32),
        }

    def run(self, hsi: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], self._feeds(hsi, x))[0]

    def layer_times(self, hsi: np.ndarray, x: np.ndarray, runs: int) -> list[LayerTime]:
        """Node times from ONNX Runtime's profiler, in a second session built like this one."""
        from comix.runtime.ort_profile import profile_session

        return profile_session(self.factory, self._feeds(hsi, x), runs)
