"""A1111 extra-network tags in prompts: `<lora:NAME:W>`, `<lora:NAME:W_TE:W_UNET>`, `te=`/`unet=` named weights.

Every `<word:…>` tag is taken out of the text the encoder sees, as A1111 does; LoRA tags apply their file,
`<lyco:…>` and `<hypernet:…>` are refused, and so is any other kind.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_TAG = re.compile(r"<(\w+):([^>]+)>")
NOT_SUPPORTED = {
    "lyco": "LyCORIS networks (<lyco:…>) are not supported; a LoRA/LoCon file works as <lora:NAME:W>",
    "hypernet": "hypernetworks (<hypernet:…>) are not supported",
}


@dataclass(frozen=True)
class LoraTag:
    """A `<lora:…>` tag: the file name as written and its text-encoder and UNet weights."""

    name: str
    text_weight: float
    unet_weight: float
    source: str  # the tag as written


@dataclass(frozen=True)
class TagScan:
    """A prompt's LoRA tags, what is wrong with the others, and the text without any tag."""

    loras: tuple[LoraTag, ...]
    problems: tuple[str, ...]
    text: str


def strip_tags(prompt: str) -> str:
    """The prompt without its `<kind:…>` tags: the text the encoder sees."""
    return _TAG.sub("", prompt)


def _weight(value: str, tag: str) -> float:
    try:
        weight = float(value)
    except ValueError:
        raise ValueError(f"{tag}: weight {value!r} is not a number") from None
    if not math.isfinite(weight) or not -4 <= weight <= 4:
        raise ValueError(f"{tag}: weight {value} must be -4 to 4")
    return weight


def _lora(tag: str, arguments: str) -> LoraTag:
    """A LoRA tag's name and weights: positional `NAME:TE:UNET`, or `te=`/`unet=`; UNET defaults to TE, TE to 1."""
    positional, named = [], {}
    for item in arguments.split(":"):
        key, equals, value = item.partition("=")
        if equals:
            named[key.strip()] = value.strip()
        else:
            positional.append(item.strip())
    unknown = sorted(set(named) - {"te", "unet"})
    if unknown:
        raise ValueError(f"{tag}: unknown setting {unknown[0]}= (valid: te=, unet=)")
    if not positional or not positional[0]:
        raise ValueError(f"{tag}: no LoRA name (write <lora:NAME:WEIGHT>)")
    if len(positional) > 3:
        raise ValueError(f"{tag}: too many values (write <lora:NAME:WEIGHT> or <lora:NAME:TEXT_WEIGHT:UNET_WEIGHT>)")
    text_weight = _weight(named.get("te", positional[1] if len(positional) > 1 else "1"), tag)
    unet = named.get("unet", positional[2] if len(positional) > 2 else None)
    return LoraTag(positional[0], text_weight, text_weight if unet is None else _weight(unet, tag), tag)


def scan_tags(prompt: str) -> TagScan:
    """Find the prompt's extra-network tags; each tag that cannot apply is a problem (the scan goes on)."""
    loras: list[LoraTag] = []
    problems: list[str] = []
    for match in _TAG.finditer(prompt):
        kind, tag = match.group(1), match.group(0)
        if kind == "lora":
            try:
                loras.append(_lora(tag, match.group(2)))
            except ValueError as error:
                problems.append(str(error))
        else:
            problems.append(f"{tag}: " + NOT_SUPPORTED.get(kind.lower(), f"unknown network kind {kind!r} (supported: lora)"))
    return TagScan(tuple(loras), tuple(problems), strip_tags(prompt))
