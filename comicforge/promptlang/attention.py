"""A1111 attention syntax and 75-token chunks: `(word:1.3)`, `[word]`, `\\(`, BREAK, textual-inversion tokens (no torch)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

ROUND = 1.1  # `(word)` multiplies attention by 1.1, `[word]` divides by it
CHUNK = 75  # CLIP takes 77 tokens: start + 75 + end
BREAK = "BREAK"

_TOKEN = re.compile(
    r"""\\\(|\\\)|\\\[|\\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|\]|[^\\()\[\]:]+|:""",
    re.X,
)
_BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)


@dataclass(frozen=True)
class Fragment:
    """A run of prompt text with one attention weight; `text == BREAK and weight < 0` marks a chunk break."""

    text: str
    weight: float

    @property
    def is_break(self) -> bool:
        return self.weight < 0 and self.text == BREAK


def parse_attention(prompt: str) -> list[Fragment]:
    """Split an A1111 prompt into weighted fragments.

    `(a)` ×1.1, `((a))` ×1.21, `[a]` ÷1.1, `(a:1.3)` ×1.3, `\\(` a literal bracket, `BREAK` a chunk break;
    unclosed brackets weigh the rest of the prompt. Neighbours with equal weights are merged.
    """
    out: list[list[Any]] = []
    round_open: list[int] = []
    square_open: list[int] = []

    def scale(start: int, factor: float) -> None:
        for item in out[start:]:
            item[1] *= factor

    for m in _TOKEN.finditer(prompt):
        tok, number = m.group(0), m.group(1)
        if tok.startswith("\\") and len(tok) == 2:
            out.append([tok[1], 1.0])
        elif tok == "\\":
            out.append(["\\", 1.0])
        elif tok == "(":
            round_open.append(len(out))
        elif tok == "[":
            square_open.append(len(out))
        elif number is not None and round_open:
            scale(round_open.pop(), float(number))
        elif tok == ")" and round_open:
            scale(round_open.pop(), ROUND)
        elif tok == "]" and square_open:
            scale(square_open.pop(), 1 / ROUND)
        else:
            parts = _BREAK.split(tok)
            for i, part in enumerate(parts):
                if i > 0:
                    out.append([BREAK, -1.0])
                if part:
                    out.append([part, 1.0])
    for start in round_open:
        scale(start, ROUND)
    for start in square_open:
        scale(start, 1 / ROUND)

    merged: list[Fragment] = []
    for text, weight in out:
        if merged and weight == merged[-1].weight and weight >= 0:
            merged[-1] = Fragment(merged[-1].text + text, weight)
        else:
            merged.append(Fragment(text, weight))
    return merged or [Fragment("", 1.0)]


@dataclass
class Chunk:
    """75 token slots of one prompt, with weights and the embedding vectors spliced in at positions."""

    tokens: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    splices: list[tuple[int, str, int]] = field(default_factory=list)  # (slot, embedding name, vector index)
    ends: str = "end"  # why the chunk ends: "break", "full" (a phrase cut at 75 tokens), "comma" (moved to the last comma), "end"


@dataclass(frozen=True)
class TokenIds:
    bos: int
    eos: int
    pad: int
    comma: int
    placeholder: int = 0  # id standing where an embedding vector is spliced in


def _split_embeddings(text: str, names: Sequence[str]) -> list[tuple[str, bool]]:
    if not names:
        return [(text, False)]
    pattern = re.compile(r"(?<![\w])(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?![\w])", re.I)
    lower = {n.lower(): n for n in names}
    parts: list[tuple[str, bool]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            parts.append((text[pos : m.start()], False))
        parts.append((lower[m.group(1).lower()], True))
        pos = m.end()
    if pos < len(text):
        parts.append((text[pos:], False))
    return parts


def chunk_prompt(
    fragments: Sequence[Fragment],
    tokenize: Callable[[str], list[int]],
    ids: TokenIds,
    embeddings: dict[str, int] | None = None,
    comma_backtrack: int = 20,
) -> list[Chunk]:
    """Group tokens into 75-slot chunks as A1111 does: BREAK starts a chunk, a chunk that overflows moves its
    words after the last comma (within `comma_backtrack` tokens) to the next one, embeddings never straddle."""
    embeddings = embeddings or {}
    chunks: list[Chunk] = []
    cur = Chunk()
    last_comma = -1

    def next_chunk(ends: str = "end") -> None:
        nonlocal cur, last_comma
        cur.ends = ends
        chunks.append(cur)
        cur = Chunk()
        last_comma = -1

    for frag in fragments:
        if frag.is_break:
            next_chunk("break")
            continue
        for text, is_emb in _split_embeddings(frag.text, list(embeddings)):
            if is_emb:
                n = embeddings[text]
                if n > CHUNK:
                    raise ValueError(f"embedding {text!r} has {n} vectors, more than a chunk holds ({CHUNK})")
                if len(cur.tokens) + n > CHUNK:
                    next_chunk("full")
                for i in range(n):
                    cur.splices.append((len(cur.tokens), text, i))
                    cur.tokens.append(ids.placeholder)
                    cur.weights.append(frag.weight)
                continue
            for tok in tokenize(text):
                if tok == ids.comma:
                    last_comma = len(cur.tokens)
                elif (
                    comma_backtrack
                    and len(cur.tokens) == CHUNK
                    and last_comma != -1
                    and len(cur.tokens) - last_comma <= comma_backtrack
                    and not any(s[0] > last_comma for s in cur.splices)
                ):
                    cut = last_comma + 1
                    carry_t, carry_w = cur.tokens[cut:], cur.weights[cut:]
                    cur.tokens, cur.weights = cur.tokens[:cut], cur.weights[:cut]
                    next_chunk("comma")
                    cur.tokens, cur.weights = carry_t, carry_w
                if len(cur.tokens) == CHUNK:
                    next_chunk("full")
                cur.tokens.append(tok)
                cur.weights.append(frag.weight)
    if cur.tokens or not chunks:
        next_chunk()
    return chunks


def chunk_ids(chunk: Chunk, ids: TokenIds) -> tuple[list[int], list[float]]:
    """The 77 token ids of a chunk (start, tokens, end, padding) and their weights."""
    n = len(chunk.tokens)
    tokens = [ids.bos, *chunk.tokens, ids.eos] + [ids.pad] * (CHUNK - n)
    weights = [1.0, *chunk.weights, 1.0] + [1.0] * (CHUNK - n)
    return tokens, weights


def strip_attention(prompt: str) -> str:
    """Plain text of a prompt (for logs): brackets and weights removed."""
    return " ".join(f.text for f in parse_attention(prompt) if not f.is_break)
