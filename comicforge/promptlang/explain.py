"""What the text encoder gets from a prompt: its schedule, attention fragments, 75-token chunks and LoRA tags.

The report `comicforge prompt` prints; tokenizers are passed in (the shipped CLIP vocabulary by default, so
no torch is needed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from comicforge.promptlang.attention import Chunk, TokenIds, chunk_prompt, parse_attention
from comicforge.promptlang.compose import negative_schedule, prompt_parts
from comicforge.promptlang.networks import LoraTag
from comicforge.promptlang.schedule import Span


@dataclass(frozen=True)
class Tokenizer:
    """A text encoder's tokenizer as the chunker needs it: text → ids, ids → text, its special ids."""

    encode: Callable[[str], list[int]]
    decode: Callable[[list[int]], str]
    ids: TokenIds


def _chunk(chunk: Chunk, tokenizer: Tokenizer) -> dict[str, Any]:
    return {"tokens": len(chunk.tokens), "text": tokenizer.decode(chunk.tokens), "ends": chunk.ends}


def _spans(schedule: Sequence[Span], tokenizers: Sequence[Tokenizer]) -> list[dict[str, Any]]:
    """Each span's text, attention fragments and chunks (per tokenizer when a model has two that differ)."""
    rows = []
    for span in schedule:
        fragments = parse_attention(span.text)
        row: dict[str, Any] = {"until": span.until, "text": span.text, "attention": [[f.text, -1 if f.is_break else f.weight] for f in fragments]}
        for i, tokenizer in enumerate(tokenizers):
            chunks = [_chunk(c, tokenizer) for c in chunk_prompt(fragments, tokenizer.encode, tokenizer.ids)]
            if i == 0:
                row["chunks"] = chunks
            elif chunks != row["chunks"]:
                row[f"chunks_{i + 1}"] = chunks
        rows.append(row)
    return rows


def _lora(tag: LoraTag) -> dict[str, Any]:
    row: dict[str, Any] = {"name": tag.name, "weight": tag.text_weight}
    if tag.unet_weight != tag.text_weight:
        row["unet_weight"] = tag.unet_weight
    return row


def explain_prompt(prompt: str, negative: str, steps: int, loras: Sequence[LoraTag], tokenizers: Sequence[Tokenizer]) -> dict[str, Any]:
    """The report as JSON: `schedule` (of the first `AND` part, with its `weight`), `and` (the other parts), `loras`, `negative`."""
    parts = prompt_parts(prompt, steps)
    report: dict[str, Any] = {"prompt": prompt, "steps": steps, "schedule": _spans(parts[0].schedule, tokenizers), "weight": parts[0].weight}
    if len(parts) > 1:
        report["and"] = [{"weight": part.weight, "schedule": _spans(part.schedule, tokenizers)} for part in parts[1:]]
    report["loras"] = [_lora(tag) for tag in loras]
    report["negative"] = {"text": negative, "schedule": _spans(negative_schedule(negative, steps), tokenizers)}
    return report


def _span_lines(rows: list[dict[str, Any]], indent: str) -> list[str]:
    lines = []
    for row in rows:
        lines.append(f"{indent}until step {row['until']}: {row['text']!r}")
        lines.append(indent + "  attention: " + ", ".join(f"{text!r} {weight:g}" for text, weight in row["attention"]))
        for n, chunk in enumerate(row["chunks"], 1):
            lines.append(f"{indent}  chunk {n}: {chunk['tokens']} tokens, ends {chunk['ends']}: {chunk['text']!r}")
    return lines


def report_text(report: dict[str, Any]) -> str:
    """The report for a terminal: one block per span (A1111's `until`: the last step, counted from 0, it is in force), LoRAs, the negative."""
    lines = [f"prompt ({report['steps']} steps)" + (f", weight {report['weight']:g}" if "and" in report or report["weight"] != 1 else "") + ":"]
    lines += _span_lines(report["schedule"], "  ")
    for n, part in enumerate(report.get("and", []), 2):
        lines.append(f"AND part {n}, weight {part['weight']:g}:")
        lines += _span_lines(part["schedule"], "  ")
    if report["loras"]:
        lines.append("LoRAs: " + ", ".join(f"{r['name']} {r['weight']:g}" + (f" (UNet {r['unet_weight']:g})" if "unet_weight" in r else "")
                                            for r in report["loras"]))
    lines.append("negative:")
    lines += _span_lines(report["negative"]["schedule"], "  ")
    return "\n".join(lines)
