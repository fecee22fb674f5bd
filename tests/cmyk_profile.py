"""A small, valid CMYK output ICC profile written from scratch, so CMYK tests need no profile from elsewhere.

Press profiles (FOGRA, SWOP, GRACoL) may not be redistributed, so the tests make their own: an ICC v2.1 output
(`prtr`) profile, CMYK data, Lab PCS, with lut16 A2B0 (CMYK → Lab) and B2A0 (Lab → CMYK) tags (ICC.1:2001-04
§6.5.8 lut16Type, §6.5.17 textDescriptionType). Its printing model is ideal inks on sRGB — a channel's light is
(1 - ink)(1 - K) — with half grey-component replacement, so it differs from comicforge's own full-GCR fallback
and round-trips sRGB colours almost exactly through Little CMS.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

D50 = (0.9642, 1.0, 0.8249)
# linear sRGB → XYZ adapted to D50 (Bradford), as in the ICC's sRGB profiles
SRGB_TO_XYZ_D50 = np.array([[0.4360747, 0.3850649, 0.1430804],
                            [0.2225045, 0.7168786, 0.0606169],
                            [0.0139322, 0.0971045, 0.7141733]])
GCR = 0.5  # the share of the common grey taken by black ink


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _lab_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """sRGB in 0..1 → CIE Lab (D50)."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ SRGB_TO_XYZ_D50.T / np.array(D50)
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _rgb_from_lab(lab: np.ndarray) -> np.ndarray:
    """CIE Lab (D50) → sRGB in 0..1, clipped to the gamut."""
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * np.array(D50)
    linear = np.clip(xyz @ np.linalg.inv(SRGB_TO_XYZ_D50).T, 0, 1)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def _lab_to_pcs16(lab: np.ndarray) -> np.ndarray:
    """The legacy 16-bit Lab encoding of lut16Type: L* 0..100 → 0..0xFF00, a*, b* -128..127.996 → 0..0xFFFF."""
    return np.clip(np.stack([lab[..., 0] * 652.8, (lab[..., 1] + 128) * 256, (lab[..., 2] + 128) * 256], axis=-1), 0, 65535)


def _lut16(grid: np.ndarray, inputs: int, outputs: int, points: int) -> bytes:
    """A lut16Type tag: identity matrix and curves (two entries each), then the CLUT (first input slowest)."""
    identity = b"".join(_s15(float(i == j)) for i in range(3) for j in range(3))
    curve = struct.pack(">2H", 0, 65535)
    table = np.rint(grid).astype(">u2").tobytes()
    return (b"mft2" + bytes(4) + struct.pack(">4B", inputs, outputs, points, 0) + identity + struct.pack(">2H", 2, 2)
            + curve * inputs + table + curve * outputs)


def _a2b0(points: int = 9) -> bytes:
    ink = np.stack(np.meshgrid(*[np.linspace(0, 1, points)] * 4, indexing="ij"), axis=-1)  # c, m, y, k
    rgb = (1 - ink[..., :3]) * (1 - ink[..., 3:])
    return _lut16(_lab_to_pcs16(_lab_from_rgb(rgb)), 4, 3, points)


def _b2a0(points: int = 17) -> bytes:
    code = np.stack(np.meshgrid(*[np.linspace(0, 1, points)] * 3, indexing="ij"), axis=-1)  # encoded L, a, b
    lab = np.stack([code[..., 0] * 65535 / 652.8, code[..., 1] * 65535 / 256 - 128, code[..., 2] * 65535 / 256 - 128], axis=-1)
    rgb = _rgb_from_lab(lab)
    black = GCR * (1 - rgb.max(axis=-1, keepdims=True))
    colour = 1 - rgb / np.maximum(1 - black, 1e-6)
    return _lut16(np.concatenate([np.clip(colour, 0, 1), black], axis=-1) * 65535, 3, 4, points)


def _text_description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(4 + 4 + 2 + 1 + 67)


def write_cmyk_profile(path: Path) -> Path:
    """Write the profile to `path` and return it."""
    tags = [
        (b"desc", _text_description("comicforge test CMYK (ideal inks, 50% GCR)")),
        (b"cprt", b"text" + bytes(4) + b"No copyright, use freely\0"),
        (b"wtpt", b"XYZ " + bytes(4) + b"".join(_s15(v) for v in D50)),
        (b"A2B0", _a2b0()),
        (b"B2A0", _b2a0()),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)  # each tag starts on a four-byte boundary
        table += signature + struct.pack(">2I", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + bytes(4) + struct.pack(">I", 0x02100000) + b"prtrCMYKLab "
              + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + bytes(24) + struct.pack(">I", 0)
              + b"".join(_s15(v) for v in D50) + bytes(4) + bytes(44))
    assert len(header) == 128
    path.write_bytes(header + struct.pack(">I", len(tags)) + table + data)
    return path
