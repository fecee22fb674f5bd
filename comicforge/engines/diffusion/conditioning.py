"""A prompt's conditioning over the denoising steps, as A1111 gives it to its sampler.

Prompt editing and alternation (`promptlang.schedule`) change the text at the steps the schedule says: each
distinct text is encoded once, and a `callback_on_step_end` hands the pipeline the next step's embeddings (so a
ControlNet sees them too). `AND` parts (`promptlang.compose`) are A1111's composable diffusion: while the UNet
runs, a forward pre-hook widens the batch from [uncond, cond] to [uncond, part 1 … part K] and a forward hook
folds it back to [uncond, uncond + Σ wₖ·(partₖ − uncond)], so the pipeline's own guidance gives
uncond + cfg·Σ wₖ·(partₖ − uncond), A1111's formula. A plain prompt takes neither path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from comicforge.engines.diffusion.prompts import Chunk, TextEncoderSide, chunk_prompt, encode_chunks, parse_attention, tokenizer_fn
from comicforge.errors import EngineError
from comicforge.promptlang.compose import negative_schedule, prompt_parts
from comicforge.promptlang.schedule import Span, span_at


@dataclass(frozen=True)
class Encoded:
    """One text's embeddings: hidden states [1, 77·n, dim] and, for SDXL, the pooled vector."""

    hidden: torch.Tensor
    pooled: torch.Tensor | None


@dataclass(frozen=True)
class Scheduled:
    """A schedule of texts with each span's embeddings."""

    spans: tuple[Span, ...]
    encoded: dict[str, Encoded]

    def at(self, index: int) -> Encoded:
        return self.encoded[span_at(list(self.spans), index).text]


@dataclass
class StepConditioning:
    """The negative prompt's and each `AND` part's embeddings at every step (counted from 0, as A1111's denoiser counts)."""

    negative: Scheduled
    parts: tuple[tuple[float, Scheduled], ...]
    is_sdxl: bool
    index: int = field(default=0)

    @property
    def is_plain(self) -> bool:
        """One part of weight 1 and one text throughout: the pipeline's own arguments are all it needs."""
        return len(self.parts) == 1 and self.parts[0][0] == 1.0 and len(self.parts[0][1].encoded) == 1 and len(self.negative.encoded) == 1

    @property
    def is_composed(self) -> bool:
        return len(self.parts) > 1 or self.parts[0][0] != 1.0

    def first_arguments(self) -> dict[str, torch.Tensor]:
        """The pipeline's prompt arguments at step 0 (the first part stands for all of them outside the UNet)."""
        negative, positive = self.negative.at(0), self.parts[0][1].at(0)
        arguments = {"prompt_embeds": positive.hidden, "negative_prompt_embeds": negative.hidden}
        if self.is_sdxl:
            arguments.update(pooled_prompt_embeds=positive.pooled, negative_pooled_prompt_embeds=negative.pooled)
        return arguments

    def on_step_end(self, pipe, i: int, _timestep, tensors: dict) -> dict:
        """diffusers' step-end callback: move to step i + 1 and give the pipeline that step's embeddings."""
        self.index = i + 1
        negative, positive = self.negative.at(self.index), self.parts[0][1].at(self.index)
        guided = pipe.do_classifier_free_guidance
        current = tensors["prompt_embeds"]
        out = {"prompt_embeds": _batch([negative.hidden, positive.hidden] if guided else [positive.hidden], current)}
        if self.is_sdxl:
            out["add_text_embeds"] = _batch([negative.pooled, positive.pooled] if guided else [positive.pooled], tensors["add_text_embeds"])
        return out

    def widen(self, _module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """UNet pre-hook: [uncond, cond] → [uncond, part 1 … part K] with each part's embeddings at this step."""
        sample = args[0] if args else kwargs["sample"]
        if sample.shape[0] != 2:
            raise EngineError(f"AND and prompt weights need classifier-free guidance on one image (got a batch of {sample.shape[0]})")
        rows = [0] + [1] * len(self.parts)
        current = kwargs["encoder_hidden_states"]
        kwargs["encoder_hidden_states"] = _batch([self.negative.at(self.index).hidden, *(s.at(self.index).hidden for _, s in self.parts)], current)
        added = dict(kwargs.get("added_cond_kwargs") or {})
        if self.is_sdxl and "text_embeds" in added:
            pooled = [self.negative.at(self.index).pooled, *(s.at(self.index).pooled for _, s in self.parts)]
            added["text_embeds"] = _batch(pooled, added["text_embeds"])
        for key in list(added):
            if key != "text_embeds" or not self.is_sdxl:
                added[key] = _rows(added[key], rows)
        if added:
            kwargs["added_cond_kwargs"] = added
        for key in ("timestep_cond", "down_block_additional_residuals", "mid_block_additional_residual", "down_intrablock_additional_residuals"):
            if kwargs.get(key) is not None:
                kwargs[key] = _rows(kwargs[key], rows)
        args = tuple(_rows(a, rows) for a in args)
        if "sample" in kwargs:
            kwargs["sample"] = _rows(kwargs["sample"], rows)
        if "timestep" in kwargs:
            kwargs["timestep"] = _rows(kwargs["timestep"], rows)
        return args, kwargs

    def fold(self, _module, _args, _kwargs, output):
        """UNet hook: [uncond, part 1 … part K] → [uncond, uncond + Σ wₖ·(partₖ − uncond)]."""
        prediction = output[0] if isinstance(output, tuple) else output.sample
        uncond = prediction[:1]
        combined = uncond.clone()
        for k, (weight, _) in enumerate(self.parts, start=1):
            combined += (prediction[k : k + 1] - uncond) * weight
        folded = torch.cat([uncond, combined])
        if isinstance(output, tuple):
            return (folded, *output[1:])
        output.sample = folded
        return output

    @contextmanager
    def steering(self, pipe) -> Iterator[dict]:
        """The pipeline arguments (and, for `AND`, the UNet hooks while it runs) that follow the schedule."""
        self.index = 0
        if self.is_plain:
            yield {}
            return
        inputs = ["prompt_embeds", "add_text_embeds"] if self.is_sdxl else ["prompt_embeds"]
        hooks = []
        if self.is_composed:
            hooks = [pipe.unet.register_forward_pre_hook(self.widen, with_kwargs=True),
                     pipe.unet.register_forward_hook(self.fold, with_kwargs=True)]
        try:
            yield {"callback_on_step_end": self.on_step_end, "callback_on_step_end_tensor_inputs": inputs}
        finally:
            for hook in hooks:
                hook.remove()


def _batch(tensors: list, like: torch.Tensor) -> torch.Tensor:
    return torch.cat(tensors).to(dtype=like.dtype, device=like.device)


def _rows(value, rows: list[int]):
    """Select batch rows of a tensor (or of each tensor in a tuple/list); scalars and 0-d tensors pass through."""
    if isinstance(value, (tuple, list)):
        return type(value)(_rows(v, rows) for v in value)
    if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape[0] == 2:
        return value[rows]
    return value


def step_conditioning(sides: list[TextEncoderSide], prompt: str, negative: str, steps: int, clip_skip: int,
                      vectors: dict[str, list], is_sdxl: bool) -> StepConditioning:
    """Encode every distinct text of the prompt's and the negative's schedules once, padded to one length."""
    parts = prompt_parts(prompt, steps)
    negatives = negative_schedule(negative, steps)
    texts = list(dict.fromkeys([*(s.text for s in negatives), *(s.text for p in parts for s in p.schedule)]))
    encoded = dict(zip(texts, encode_texts(sides, texts, clip_skip, vectors, is_sdxl, chunk_length(sides, texts, vectors))))
    return StepConditioning(
        Scheduled(negatives, {s.text: encoded[s.text] for s in negatives}),
        tuple((p.weight, Scheduled(p.schedule, {s.text: encoded[s.text] for s in p.schedule})) for p in parts),
        is_sdxl,
    )


def _chunks(side: TextEncoderSide, text: str, vectors: dict[str, list]) -> list[Chunk]:
    counts = {token: int(v[0].shape[0]) for token, v in vectors.items()}
    return chunk_prompt(parse_attention(text), tokenizer_fn(side.tokenizer), side.ids, counts)


def chunk_length(sides: list[TextEncoderSide], texts: list[str], vectors: dict[str, list]) -> int:
    """The most 75-token chunks any of the texts takes on any side: the length every text is padded to."""
    return max(len(_chunks(side, text, vectors)) for side in sides for text in texts)


def encode_texts(sides: list[TextEncoderSide], texts: list[str], clip_skip: int, vectors: dict[str, list], is_sdxl: bool,
                 length: int) -> list[Encoded]:
    """Each text's embeddings (A1111 weights and BREAK), padded with empty chunks to `length` chunks."""
    per_side: list[list[tuple]] = []
    with torch.no_grad():
        for i, side in enumerate(sides):
            side_vectors = {t: v[i].to(side.encoder.device) for t, v in vectors.items()}
            chunked = [_chunks(side, text, vectors) for text in texts]
            per_side.append([encode_chunks(side, chunks + [Chunk() for _ in range(length - len(chunks))], clip_skip, side_vectors)
                             for chunks in chunked])
    return [_joined([side[k] for side in per_side], is_sdxl) for k in range(len(texts))]


def _joined(sides: list[tuple], is_sdxl: bool) -> Encoded:
    """SD 1.x/2.x: the one encoder's states; SDXL (and SD3): both encoders' states side by side, and the pooled
    vectors of those with a projection (SDXL: CLIP-G's; SD3: CLIP-L's then CLIP-G's)."""
    if not is_sdxl:
        return Encoded(sides[0][0], None)
    pooled = [p for _, p in sides if p is not None]
    return Encoded(torch.cat([hidden for hidden, _ in sides], dim=-1), pooled[0] if len(pooled) == 1 else torch.cat(pooled, dim=-1))
