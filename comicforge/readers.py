"""Readers with limits for the files a project names (images, ICC profiles, fonts, JSON): hostile files are refused clearly.

Project folders are shared, so any file they name may be hostile. Each reader first checks that the path is a
regular file (a pipe or a device would block or never end) within its size cap; images must also fit a pixel
budget, read from the header before any pixel is decoded, and be in a pixel mode the stages convert from; JSON
must be finite numbers, not nested past the parser's stack. Problems are `FileProblem`s, whose `reason` leaves
the path out so that callers name the file as the author wrote it, at the line that named it.

`check` (resolve) applies the book's `format.max_pixels`; stages reading the same fingerprinted files later use
the ceiling, since every build resolves (and so checks) first.
"""

from __future__ import annotations

import io
import json
import math
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comicforge.errors import ComicforgeError

if TYPE_CHECKING:
    from PIL import Image, ImageCms

DEFAULT_MAX_PIXELS = 100_000_000
MAX_PIXELS_CEILING = 178_956_970  # Pillow refuses to open larger images (2 x Image.MAX_IMAGE_PIXELS)
MIN_PIXELS_BUDGET = 1_000_000  # the lowest `format.max_pixels`
MIB = 1 << 20
MAX_IMAGE_BYTES = 1024 * MIB  # an uncompressed 16-bit RGBA TIFF at the ceiling is about 1.4 GB: compressed files are far smaller
MAX_FONT_BYTES = 64 * MIB  # CJK families run to 20-30 MB
MAX_ICC_BYTES = 16 * MIB  # press profiles with large tables are a few MB
MAX_JSON_BYTES = 8 * MIB  # an OpenPose frame of 100 people with hands and faces is under 1 MB
MAX_INTEGER_DIGITS = 30
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF", "PSD")
IMAGE_MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "HSV", "I", "F",
                         "I;16", "I;16L", "I;16B", "I;16N"})  # what converts to both greyscale and RGB


class FileProblem(ComicforgeError):
    """A named file that cannot be read safely: missing, not a regular file, too large, corrupt, or of a kind we do not read."""

    def __init__(self, path: Path | str, reason: str):
        self.file = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _megabytes(size: int) -> str:
    return f"{size / MIB:.1f} MB" if size % MIB and size < 10 * MIB else f"{size / MIB:.0f} MB"


def regular_file(path: Path, what: str, max_bytes: int) -> int:
    """The size of a regular file at most `max_bytes` long; a folder, pipe, device or oversize file is a FileProblem."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileProblem(path, f"{what} not found") from None
    except OSError as error:
        raise FileProblem(path, f"cannot be read: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a pipe, socket or device"
        raise FileProblem(path, f"is {kind}, not a regular file")
    if info.st_size > max_bytes:
        raise FileProblem(path, f"the {what} is {_megabytes(info.st_size)}, over its limit of {_megabytes(max_bytes)}")
    return info.st_size


def read_bytes(path: Path, what: str, max_bytes: int) -> bytes:
    """A regular file's bytes, at most `max_bytes` (checked before reading and while reading)."""
    regular_file(path, what, max_bytes)
    try:
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as error:
        raise FileProblem(path, f"cannot be read: {error.strerror or error}") from None
    if len(data) > max_bytes:
        raise FileProblem(path, f"the {what} is over its limit of {_megabytes(max_bytes)}")
    return data


# ------------------------------------------------------------------------------------------------ images


@contextmanager
def _opened(path: Path, what: str, max_pixels: int) -> Iterator[Image.Image]:
    """An image opened (header only) within the pixel budget and in a mode we convert from."""
    from PIL import Image, UnidentifiedImageError

    regular_file(path, what, MAX_IMAGE_BYTES)
    budget = f"the {max_pixels / 1e6:g}-megapixel budget (format.max_pixels, at most {MAX_PIXELS_CEILING:,})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our budget decides, below
            image = Image.open(path, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:
        raise FileProblem(path, f"the {what} is larger than {MAX_PIXELS_CEILING / 1e6:.0f} megapixels (a decompression bomb?), "
                                f"over {budget}") from None
    except UnidentifiedImageError:
        raise FileProblem(path, f"not an image in a format we read ({', '.join(IMAGE_FORMATS)})") from None
    except Exception as error:  # Pillow's header parsers raise many types on hostile bytes; none may escape as a bug
        raise FileProblem(path, f"cannot read the {what} ({error})") from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise FileProblem(path, f"the {what} is {width} x {height} px ({width * height / 1e6:.0f} megapixels), more than {budget}")
        if image.mode not in IMAGE_MODES:
            raise FileProblem(path, f"the {what} has pixel mode {image.mode}, which cannot be converted to greyscale and RGB "
                                    "(save it as 8- or 16-bit greyscale, RGB, RGBA or CMYK)")
        yield image


def open_image(path: Path, what: str = "image", max_pixels: int = MAX_PIXELS_CEILING) -> Image.Image:
    """An image decoded in full (in its own mode) within a pixel budget; a bomb, a truncated or corrupt file is a FileProblem."""
    with _opened(path, what, max_pixels) as image:
        try:
            image.load()
        except Exception as error:  # truncated, corrupt or inconsistent data: OSError, SyntaxError, ValueError, struct.error…
            raise FileProblem(path, f"cannot read the {what} ({error or type(error).__name__})") from None
        return image


def image_size(path: Path, what: str = "image", max_pixels: int = MAX_PIXELS_CEILING) -> tuple[int, int]:
    """An image's (width, height) from its header, within the pixel budget."""
    with _opened(path, what, max_pixels) as image:
        return image.size


# ------------------------------------------------------------------------------------------------ ICC profiles and fonts


def open_icc_profile(path: Path) -> ImageCms.ImageCmsProfile:
    """An ICC profile read within the size cap and parsed by Little CMS."""
    from PIL import ImageCms

    data = read_bytes(path, "ICC profile", MAX_ICC_BYTES)
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(data))
    except Exception as error:  # PyCMSError, OSError, ValueError, TypeError on hostile bytes
        raise FileProblem(path, f"not an ICC profile Little CMS reads ({error or type(error).__name__})") from None


def check_font_file(path: Path) -> None:
    """A font file is a regular file within the size cap (its tables are parsed by the lettering code)."""
    regular_file(path, "font", MAX_FONT_BYTES)


# ------------------------------------------------------------------------------------------------ JSON


class _Refused(ValueError):
    """A JSON value we refuse while parsing."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} is too large (numbers must be finite)")
    return value


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"an integer of {len(text)} digits (at most {MAX_INTEGER_DIGITS})")
    return int(text)


def _no_constant(name: str) -> float:
    raise _Refused(f"{name} is not a number (numbers must be finite)")


def parse_json(data: bytes | str, path: Path | str, what: str) -> Any:
    """JSON whose numbers are all finite and short, nested no deeper than the parser's stack; else a FileProblem."""
    try:
        return json.loads(data, parse_float=_finite_float, parse_int=_short_int, parse_constant=_no_constant)
    except _Refused as error:
        raise FileProblem(path, f"{what}: {error}") from None
    except json.JSONDecodeError as error:
        raise FileProblem(path, f"not JSON ({error})") from None
    except UnicodeDecodeError as error:
        raise FileProblem(path, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except RecursionError:
        raise FileProblem(path, f"{what}: nested too deeply") from None


def read_json(path: Path, what: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON file read within the size cap and parsed under `parse_json`'s limits."""
    return parse_json(read_bytes(path, what, max_bytes), path, what)
