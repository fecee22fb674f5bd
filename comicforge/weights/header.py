"""Safetensors files read from their JSON header (and single small tensors with numpy): no torch."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from comicforge.errors import EngineError

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a safetensors file: dtype, shape and its absolute byte range."""

    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute byte offset in the file
    end: int


def read_safetensors_header(path: Path) -> tuple[dict[str, TensorEntry], dict[str, str]]:
    """Parse a safetensors header: tensor table and `__metadata__`; EngineError if corrupt or truncated."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise EngineError(f"{path}: truncated safetensors file ({size} bytes, no header)")
            (n,) = struct.unpack("<Q", head)
            if n > 100_000_000:
                raise EngineError(f"{path}: corrupt safetensors header (claims {n} bytes of JSON)")
            raw = f.read(n)
    except OSError as e:
        raise EngineError(f"{path}: cannot read model file: {e.strerror or e}") from e
    if len(raw) < n:
        raise EngineError(f"{path}: truncated safetensors file (header needs {n} bytes, file has {size})")
    try:
        table = json.loads(raw.decode("utf-8"))
        if not isinstance(table, dict):
            raise ValueError("header is not a JSON object")
        meta = table.pop("__metadata__", None) or {}
        entries = {}
        for key, t in table.items():
            a, b = (int(x) for x in t["data_offsets"])
            entries[key] = TensorEntry(str(t["dtype"]), tuple(int(d) for d in t["shape"]), 8 + n + a, 8 + n + b)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise EngineError(f"{path}: corrupt safetensors header ({e})") from e
    end = max((e.end for e in entries.values()), default=8 + n)
    if end > size:
        raise EngineError(f"{path}: truncated safetensors file (tensors need {end} bytes, file has {size})")
    return entries, {str(k): str(v) for k, v in meta.items()}


def read_small_tensor(path: Path, entry: TensorEntry) -> np.ndarray | None:
    """Read one tensor with numpy (float dtypes only); used for cheap heuristics."""
    import numpy as np

    with Path(path).open("rb") as f:
        f.seek(entry.start)
        raw = f.read(entry.end - entry.start)
    if entry.dtype == "BF16":
        return (np.frombuffer(raw, dtype="<u2").astype("<u4") << 16).view("<f4")
    kinds = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}
    if entry.dtype not in kinds:
        return None
    return np.frombuffer(raw, dtype=kinds[entry.dtype]).astype("float64")
