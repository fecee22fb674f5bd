"""One-off: turn the OpenAI CLIP BPE data inside the open-clip-torch wheel into vocab.json + merges.txt.

Usage (offline once the wheel is downloaded):
    pip download open-clip-torch --no-deps -d /tmp/oc
    python tools/extract_clip_vocab.py /tmp/oc/open_clip_torch-*.whl comicforge/data/diffusion/tokenizer

The vocabulary is built the way OpenAI's `clip/simple_tokenizer.py` builds it (bytes, bytes + `</w>`,
the first 48,894 merges, then `<|startoftext|>` and `<|endoftext|>`), which is the layout
transformers' CLIPTokenizer reads.
"""

from __future__ import annotations

import gzip
import json
import sys
import zipfile
from pathlib import Path

N_MERGES = 49152 - 256 - 2


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte → printable unicode map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def build(bpe_lines: list[str]) -> tuple[dict[str, int], list[str]]:
    merges = bpe_lines[1 : N_MERGES + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(vocab)}, merges


def main(wheel: str, out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read("open_clip/bpe_simple_vocab_16e6.txt.gz")
        licence = next(n for n in zf.namelist() if n.endswith("LICENSE"))
        licence_text = zf.read(licence).decode()
    lines = gzip.decompress(raw).decode("utf-8").split("\n")
    vocab, merges = build(lines)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    (out / "LICENSE").write_text(
        "vocab.json and merges.txt are the byte-pair-encoding data of OpenAI CLIP\n"
        "(https://github.com/openai/CLIP, MIT licence, Copyright (c) 2021 OpenAI),\n"
        "extracted from open-clip-torch's bpe_simple_vocab_16e6.txt.gz by tools/extract_clip_vocab.py.\n\n"
        "MIT License\n\nCopyright (c) 2021 OpenAI\n\n"
        + licence_text.split("\n\n", 1)[1]
        + "\n\nopen-clip-torch licence:\n\n"
        + licence_text,
        encoding="utf-8",
    )
    print(f"{len(vocab)} tokens, {len(merges)} merges -> {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
