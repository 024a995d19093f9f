"""MATLAB ``.mat`` files: v4/v5/v7 through ``scipy.io`` and v7.3 (HDF5) through ``h5py``.

Arrays come back in MATLAB axis order whatever the file version. HDF5 stores MATLAB arrays with the
axes reversed (MATLAB is column-major), so a v7.3 variable that MATLAB shows as ``(H, W, bands)`` is an
HDF5 dataset of shape ``(bands, W, H)``; :func:`read_mat` transposes it back to ``(H, W, bands)``.

Keys may be paths into structs and cells: ``"hsi.Data"``, ``"hsi.Lidar[0].z"`` (cell indices 0-based,
in MATLAB's linear, column-major order).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from comix.atomic import atomic_path
from comix.data.errors import DataError
from comix.data.windowed import ArrayRaster

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAT_VERSIONS = ("5", "7.3")  # what write_mat writes: classic v5, or v7.3 (HDF5)
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_key_path(key: str) -> list[str | int]:
    """``"hsi.Lidar[0].z"`` -> ``["hsi", "Lidar", 0, "z"]``."""
    tokens: list[str | int] = []
    for name, index in _TOKEN.findall(key):
        tokens.append(int(index) if index else name)
    if not tokens or not isinstance(tokens[0], str):
        raise DataError(
            f"MAT key {key!r}: expected a variable name first, e.g. 'data' or 'hsi.Data'"
        )
    return tokens


def mat_version(path: Path) -> str:
    """``"7.3"`` for HDF5-based files, ``"5"`` for the classic format (v4/v5/v7)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found, expected a MATLAB .mat file")
    with open(path, "rb") as handle:
        head = handle.read(520)
    if len(head) < 128:
        raise DataError(
            f"{path}: {len(head)} bytes, expected at least a 128-byte MATLAB header (truncated file?)"
        )
    if head[512:520] == HDF5_SIGNATURE or b"MATLAB 7.3" in head[:128] or head[:8] == HDF5_SIGNATURE:
        return "7.3"
    return "5"


def list_mat_keys(path: Path) -> list[str]:
    """Top-level variable names in a .mat file of any version."""
    path = Path(path)
    if mat_version(path) == "7.3":
        h5py = _import_h5py(path)
        try:
            with h5py.File(path, "r") as handle:
                return [k for k in handle if not k.startswith("#")]
        except OSError as error:
            raise DataError(
                f"{path}: cannot open as MATLAB v7.3 (HDF5): {error} (truncated or corrupt file?)"
            ) from error
    import scipy.io

    try:
        return [name for name, _, _ in scipy.io.whosmat(str(path))]
    except Exception as error:  # scipy raises several types for damaged files
        raise DataError(
            f"{path}: cannot read as MATLAB v5 file: {error} (truncated or corrupt file?)"
        ) from error


def read_mat(path: str | Path, key: str) -> np.ndarray:
    """Read one variable (or struct field / cell element) in MATLAB axis order.

    Raises:
        DataError: file missing, truncated or corrupt; key absent (the message lists the keys present);
            v7.3 file while h5py is not installed.
    """
    path = Path(path)
    tokens = parse_key_path(key)
    if mat_version(path) == "7.3":
        return _read_mat73(path, key, tokens)
    return _read_mat5(path, key, tokens)


def _read_mat5(path: Path, key: str, tokens: list[str | int]) -> np.ndarray:
    import scipy.io

    present = list_mat_keys(path)
    if tokens[0] not in present:
        raise DataError(
            f"{path}: no variable {tokens[0]!r}, expected one of the keys present: {present}"
        )
    nested = len(tokens) > 1
    try:
        contents = scipy.io.loadmat(str(path), variable_names=[tokens[0]], simplify_cells=nested)
    except Exception as error:
        raise DataError(
            f"{path}: cannot read variable {tokens[0]!r}: {error} (truncated or corrupt file?)"
        ) from error
    value = contents[tokens[0]]
    for depth, token in enumerate(tokens[1:], start=1):
        value = _step(value, token, path, key, depth, tokens)
    return _as_numeric(value, path, key)


def _step(value, token, path: Path, key: str, depth: int, tokens) -> object:
    where = _render(tokens[:depth])
    if isinstance(token, int):
        if isinstance(value, np.ndarray) and value.dtype == object:
            value = value.ravel(order="F")  # MATLAB linear indexing is column-major
        if not isinstance(value, (list, tuple, np.ndarray)) or token >= len(value):
            size = len(value) if hasattr(value, "__len__") else "not a cell"
            raise DataError(
                f"{path}: {where}[{token}] out of range in key {key!r}, got cell size {size}"
            )
        return value[token]
    if not isinstance(value, dict) or token not in value:
        fields = (
            sorted(value) if isinstance(value, dict) else f"a {type(value).__name__}, not a struct"
        )
        raise DataError(
            f"{path}: {where} has no field {token!r} (key {key!r}), expected one of: {fields}"
        )
    return value[token]


def _render(tokens) -> str:
    text = ""
    for token in tokens:
        text += f"[{token}]" if isinstance(token, int) else (f".{token}" if text else token)
    return text


def _as_numeric(value, path: Path, key: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: key {key!r} holds {array.dtype} data, expected a numeric array")
    return array


def _import_h5py(path: Path):
    try:
        import h5py
    except ImportError as error:
        raise DataError(
            f"{path}: MATLAB v7.3 (HDF5) file, reading it needs h5py which is not installed "
            "(pip install h5py)"
        ) from error
    if h5py is None:  # a test may block the import by setting sys.modules['h5py'] = None
        raise DataError(
            f"{path}: MATLAB v7.3 (HDF5) file, reading it needs h5py which is not installed"
        )
    return h5py


def _open_h5(path: Path):
    h5py = _import_h5py(path)
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise DataError(
            f"{path}: cannot open as MATLAB v7.3 (HDF5): {error} (truncated or corrupt file?)"
        ) from error


def _locate_mat73(handle, path: Path, key: str, tokens: list[str | int]):
    """The ``h5py.Dataset`` that ``key`` names inside an open v7.3 file (numeric; axes MATLAB's reversed)."""
    import h5py

    node = handle
    for depth, token in enumerate(tokens):
        where = _render(tokens[:depth]) or "file"
        if isinstance(token, int):
            if not isinstance(node, h5py.Dataset) or node.dtype.kind != "O":
                raise DataError(
                    f"{path}: {where} is not a cell array, cannot index [{token}] in key {key!r}"
                )
            refs = np.asarray(node).reshape(
                -1
            )  # reversed axes, C order = MATLAB's column-major order
            if token >= refs.size:
                raise DataError(
                    f"{path}: {where}[{token}] out of range in key {key!r}, got cell size {refs.size}"
                )
            node = handle[refs[token]]
            continue
        if not isinstance(node, h5py.Group) or token not in node:
            present = (
                [k for k in node if not k.startswith("#")] if isinstance(node, h5py.Group) else []
            )
            raise DataError(
                f"{path}: no key {token!r} in {where} (key {key!r}), expected one of the keys "
                f"present: {present}"
            )
        node = node[token]
    if not isinstance(node, h5py.Dataset):
        raise DataError(
            f"{path}: key {key!r} is a struct, expected an array; its fields: {list(node.keys())}"
        )
    if node.dtype.kind not in "biuf":
        raise DataError(f"{path}: key {key!r} holds {node.dtype} data, expected a numeric array")
    return node


def _read_mat73(path: Path, key: str, tokens: list[str | int]) -> np.ndarray:
    with _open_h5(path) as handle:
        node = _locate_mat73(handle, path, key, tokens)
        try:
            data = node[()]
        except OSError as error:
            raise DataError(
                f"{path}: cannot read key {key!r}: {error} (truncated or corrupt file?)"
            ) from error
    return np.asarray(data).T.copy()  # HDF5 axes are MATLAB's reversed


class Mat73Raster(ArrayRaster):
    """A MATLAB v7.3 (HDF5) variable read window by window: h5py reads only the chunks a window touches.
    ``layout`` is the MATLAB axis order (HWC, CHW or HW); HDF5 stores the axes reversed."""

    def __init__(self, path: str | Path, key: str, layout: str) -> None:
        path = Path(path)
        self.handle = _open_h5(path)
        try:
            dataset = _locate_mat73(self.handle, path, key, parse_key_path(key))
            super().__init__(dataset, layout[::-1], path)
        except BaseException:
            self.handle.close()
            raise
        self.key = key

    def _read(self, window):
        try:
            return super()._read(window)
        except OSError as error:
            raise DataError(
                f"{self.path}: cannot read key {self.key!r} window {window}: {error} "
                "(truncated or corrupt file?)"
            ) from None

    def close(self) -> None:
        self.handle.close()


def open_mat(path: str | Path, key: str, layout: str) -> ArrayRaster:
    """A windowed reader of one ``.mat`` variable in MATLAB ``layout``: v7.3 (HDF5) is read window by window
    (:class:`Mat73Raster`); classic v5 files cannot be, so the variable is read whole (convert big scenes
    to v7.3)."""
    path = Path(path)
    if mat_version(path) == "7.3":
        return Mat73Raster(path, key, layout)
    return ArrayRaster(read_mat(path, key), layout, path)


def write_mat(path: str | Path, arrays: dict[str, np.ndarray], version: str = "5") -> Path:
    """Write ``arrays`` (MATLAB axis order) as a MATLAB v5 or v7.3 file; atomic (temp name + rename).

    v7.3 files get the 512-byte MATLAB header before the HDF5 data, as MATLAB writes them.
    """
    path = Path(path)
    if version not in MAT_VERSIONS:
        raise DataError(f"write_mat({path}): got version {version!r}, expected '5' or '7.3'")
    with atomic_path(path, make_parents=True) as temp:
        if version == "5":
            import scipy.io

            compress = all(
                np.asarray(a).dtype.kind in "biu" for a in arrays.values()
            )  # noisy floats barely shrink
            scipy.io.savemat(str(temp), arrays, do_compression=compress)
        else:
            h5py = _import_h5py(path)
            with h5py.File(temp, "w", userblock_size=512) as handle:
                for name, array in arrays.items():
                    array = np.asarray(array)
                    options = (
                        {"compression": "gzip", "compression_opts": 1}
                        if array.dtype.kind in "biu"
                        else {}
                    )
                    dataset = handle.create_dataset(name, data=array.T, **options)
                    dataset.attrs["MATLAB_class"] = np.bytes_(_matlab_class(array.dtype))
            header = (
                b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: comix.data HDF5 schema 1.00 ."
            )
            with open(temp, "r+b") as raw:
                raw.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM")
    return path


def _matlab_class(dtype: np.dtype) -> str:
    if dtype == np.bool_:
        return "logical"
    return {"f8": "double", "f4": "single"}.get(dtype.str[1:], dtype.name)
