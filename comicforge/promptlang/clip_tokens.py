"""CLIP's byte-level BPE in pure Python, over the vocabulary that ships with the package: token counts without torch.

It follows the tokenizer SD's text encoders use (lower-cased, whitespace collapsed, words split as CLIP splits
them, `</w>` ending each word); `tests/promptlang/` checks it against transformers' CLIPTokenizer.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources

MERGES = 49152 - 256 - 2  # CLIP's vocabulary: 256 bytes × 2 (with `</w>`), these merges, start and end
SPECIAL = ("<|startoftext|>", "<|endoftext|>")
_CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def _kind(char: str) -> str:
    """CLIP's word classes: L (letter), N (number), space, or other."""
    if char.isspace():
        return " "
    category = unicodedata.category(char)[0]
    return category if category in "LN" else "other"


def clip_words(text: str) -> list[str]:
    """Split normalised text as CLIP's pattern does: special tokens, contractions, letter runs, single digits, other runs."""
    words, i = [], 0
    while i < len(text):
        fixed = next((w for w in (*SPECIAL, *_CONTRACTIONS) if text.startswith(w, i)), None)
        kind = _kind(text[i])
        if fixed is not None:
            end = i + len(fixed)
        elif kind == " ":
            i += 1
            continue
        elif kind == "N":
            end = i + 1
        else:
            end = i + 1
            while end < len(text) and _kind(text[end]) == kind:
                end += 1
        words.append(text[i:end])
        i = end
    return words


def _byte_symbols() -> dict[int, str]:
    """Each byte as one printable character (GPT-2's byte-level alphabet, which CLIP shares)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in symbols:
            symbols[b] = chr(256 + extra)
            extra += 1
    return symbols


class ClipTokenizer:
    """Text → CLIP token ids (no start/end tokens), and ids → text."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab
        self.words = {i: w for w, i in vocab.items()}
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.bytes = _byte_symbols()
        self.unbytes = {s: b for b, s in self.bytes.items()}
        self.cache: dict[str, list[str]] = {}

    def pieces(self, word: str) -> list[str]:
        """One pre-split word as BPE pieces, merged lowest rank first."""
        if word in self.cache:
            return self.cache[word]
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = {(a, b) for a, b in itertools.pairwise(parts)}
            best = min(pairs, key=lambda p: self.ranks.get(p, len(self.ranks)))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.cache[word] = parts
        return parts

    def encode(self, text: str) -> list[int]:
        text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).lower()
        ids = []
        for word in clip_words(text):
            if word in SPECIAL:
                ids.append(self.vocab[word])
                continue
            symbols = "".join(self.bytes[b] for b in word.encode("utf-8"))
            ids.extend(self.vocab.get(piece, self.vocab["<|endoftext|>"]) for piece in self.pieces(symbols))
        return ids

    def decode(self, ids: list[int]) -> str:
        text = "".join(self.words.get(i, "") for i in ids).replace("</w>", " ")
        return bytes(self.unbytes.get(c, 32) for c in text).decode("utf-8", errors="replace").strip()


@lru_cache(maxsize=1)
def clip_tokenizer() -> ClipTokenizer:
    """The tokenizer of the vocabulary shipped in `comicforge/data/diffusion/tokenizer/`."""
    folder = resources.files("comicforge") / "data" / "diffusion" / "tokenizer"
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    lines = (folder / "merges.txt").read_text(encoding="utf-8").strip().split("\n")[1 : MERGES + 1]
    merges = [tuple(line.split()) for line in lines]
    return ClipTokenizer(vocab, merges)  # type: ignore[arg-type]
