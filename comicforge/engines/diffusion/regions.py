"""Several characters in one panel, each steering only its region: masked cross-attention and blended LoRA passes.

Prompts: the scene's and each region's embeddings are laid side by side as one text sequence, [scene | region 1 |
… | region K], every span the same length (A1111's empty-chunk padding). A processor wrapped around each
cross-attention layer's own (so IP-Adapter and sliced attention keep working) masks it: a latent cell inside a
region attends only to that region's span (several spans where regions overlap), any other cell to the scene's.
The unconditional row carries the negative repeated once per span, so it attends to exactly the negative.

LoRAs: each character with LoRAs (or references) gets its own UNet pass on the crop of the latents its region covers, with only
its adapters active (peft's `set_adapters`, nothing reloaded), its region's text and the ControlNet residuals of
that crop; the rest of the panel comes from one pass over the whole latent with the prompt's own LoRAs only (and
the masked cross-attention above), skipped when the characters' regions cover the panel. The predictions are
blended by the region masks at latent resolution every step. A pass over the whole latent would let a LoRA reach
the other regions within the same step, through self-attention, GroupNorm statistics and the convolutions of
the coarse levels; a crop sees only its region, so a character's LoRA acts in its region and nowhere else, and a
crop costs about its share of the panel. A panel whose characters have no LoRAs runs one pass.

References: with an IP-Adapter, each reference image is masked (diffusers' per-image `ip_adapter_masks`) to its
character's region, given at each layer's exact cell grid (of the whole latent, or of a pass's crop), and such a
character gets a crop pass of its own as for LoRAs (masks alone leave self-attention to carry a reference across
the panel: own/other change 1.5-2× on the tiny model, 5× with the pass), so its references steer its region.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from comicforge.control.regions import region_cells
from comicforge.engines.diffusion.conditioning import Encoded
from comicforge.errors import EngineError
from comicforge.promptlang.compose import negative_schedule, prompt_parts
from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.requests import GenerateRequest, Region

Box = tuple[float, float, float, float]
Adapters = tuple[tuple[str, float], ...]  # (peft adapter name, UNet weight)


@dataclass(frozen=True)
class PassText:
    """The text one UNet pass conditions on, encoded with its LoRAs active in the text encoders."""

    adapters: Adapters
    hidden: torch.Tensor  # background: [1, (regions + 1) · span, dim], [scene | region 1 | …]; a region: [1, span, dim]
    region: int | None = None  # the region this pass draws on its crop (None: the whole latent, the background)


@dataclass(frozen=True)
class UnetPass:
    """One UNet pass per step: its text, the latent rows and columns it runs on, and the weights of its prediction."""

    text: PassText
    crop: tuple[int, int, int, int]  # y0, y1, x0, x1 latent cells
    keep: torch.Tensor  # [1, 1, y1 - y0, x1 - x0]: its share of each cell (the shares sum to 1 over the passes)


@dataclass
class RegionLayout:
    """Where each span of the text sequence applies: the regions' boxes over a latent grid, spans of one length."""

    boxes: tuple[Box, ...]
    latent: tuple[int, int]  # (height, width) of the latents
    span: int  # tokens per span
    _masks: dict[tuple, torch.Tensor] = field(default_factory=dict)

    def grid(self, tokens: int) -> tuple[int, int]:
        """The (height, width) of a UNet level with this many latent cells (each level halves, rounding up)."""
        height, width = self.latent
        for _ in range(8):
            if height * width == tokens:
                return height, width
            height, width = math.ceil(height / 2), math.ceil(width / 2)
        raise ValueError(f"no UNet level of a {self.latent[1]}x{self.latent[0]} latent has {tokens} cells")

    def allowed(self, height: int, width: int) -> np.ndarray:
        """[cells, spans] booleans: each cell attends to the spans of the regions holding it, else to the scene's."""
        inside = np.stack([region_cells(box, width, height).reshape(-1) for box in self.boxes], axis=1)
        scene = ~inside.any(axis=1, keepdims=True)
        return np.concatenate([scene, inside], axis=1)

    def attention_mask(self, cells: int, batch: int, like: torch.Tensor) -> torch.Tensor:
        """The additive [batch, cells, tokens] mask for a cross-attention layer with `cells` queries."""
        key = (cells, batch, like.dtype, like.device)
        if key not in self._masks:
            allowed = torch.from_numpy(self.allowed(*self.grid(cells))).repeat_interleave(self.span, dim=1)
            mask = torch.zeros(allowed.shape, dtype=like.dtype).masked_fill(~allowed, torch.finfo(like.dtype).min)
            self._masks[key] = mask.to(like.device)[None].expand(batch, -1, -1).contiguous()
        return self._masks[key]


class RegionalCrossAttention(torch.nn.Module):
    """A cross-attention processor that masks the layer's own processor with the run's region layout (see the module).

    A module, because an IP-Adapter's processor is one (it holds the image projections) and a layer's processor
    must then stay a module.
    """

    def __init__(self, inner, run: RegionalRun):
        super().__init__()
        self.inner, self.run = inner, run

    def forward(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        text = encoder_hidden_states[0] if isinstance(encoder_hidden_states, tuple) else encoder_hidden_states
        layout = self.run.layout
        if text is None or layout is None:
            return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)
        cells = hidden_states.shape[1] if hidden_states.ndim == 3 else hidden_states.shape[2] * hidden_states.shape[3]
        if hasattr(self.inner, "to_k_ip") and self.run.conditioning.reference_regions:
            kwargs["ip_adapter_masks"] = [self.run.reference_masks(cells, hidden_states)]
        if text.shape[1] == layout.span * (len(layout.boxes) + 1):  # [scene | regions]: a pass over the whole latent
            mask = layout.attention_mask(cells, hidden_states.shape[0], hidden_states)
            attention_mask = mask if attention_mask is None else mask + attention_mask
        return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)


@dataclass
class RegionalConditioning:
    """A panel with regions: the background's text sequence, each own-pass region's text, the negative, the boxes."""

    background: PassText  # the prompt's own LoRAs, everywhere no character's LoRAs act
    own_passes: tuple[PassText, ...]  # one per region whose character has LoRAs or (masked) references
    negative: Encoded
    pooled: torch.Tensor | None  # SDXL: the scene's pooled vector (background LoRAs)
    boxes: tuple[Box, ...]
    is_sdxl: bool
    reference_regions: tuple[int, ...] = ()  # the region of each reference image (IP-Adapter); () none, or unmasked
    is_plain: bool = True  # candidates batch as with a plain prompt
    is_composed: bool = False

    @property
    def span(self) -> int:
        return int(self.negative.hidden.shape[1])

    def first_arguments(self) -> dict[str, torch.Tensor]:
        """The pipeline's prompt arguments: the background's [scene | regions…] and the negative once per span."""
        negative = torch.cat([self.negative.hidden] * (len(self.boxes) + 1), dim=1)
        arguments = {"prompt_embeds": self.background.hidden, "negative_prompt_embeds": negative}
        if self.is_sdxl:
            arguments.update(pooled_prompt_embeds=self.pooled, negative_pooled_prompt_embeds=self.negative.pooled)
        return arguments

    def unet_passes(self, latent: tuple[int, int], like: torch.Tensor) -> list[UnetPass]:
        """The passes a step runs: the background's (unless the own-pass regions cover the panel), then one per own-pass region."""
        height, width = latent
        cells = [torch.from_numpy(region_cells(self.boxes[text.region], width, height).astype(np.float32))
                 for text in self.own_passes if text.region is not None]
        if not cells:
            return []
        overlap = torch.stack(cells).sum(0).clamp(min=1)
        shares = [c / overlap for c in cells]
        rest = 1 - torch.stack(shares).sum(0)
        passes = []
        for text, share in zip(self.own_passes, shares):
            rows, columns = torch.nonzero(share.sum(1)).flatten(), torch.nonzero(share.sum(0)).flatten()
            if len(rows) == 0:
                continue  # a region smaller than a latent cell
            crop = (int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1)
            passes.append(UnetPass(text, crop, share[crop[0]:crop[1], crop[2]:crop[3]][None, None].to(like.device, like.dtype)))
        if bool((rest > 0).any()) or not passes:
            passes.insert(0, UnetPass(self.background, (0, height, 0, width), rest[None, None].to(like.device, like.dtype)))
        return passes

    @contextmanager
    def steering(self, pipe) -> Iterator[dict]:
        """While the pipeline runs: masked cross-attention in the UNet and ControlNets, and the blended LoRA passes."""
        run = RegionalRun(self, lambda adapters: switch_unet_adapters(pipe.unet, adapters))
        modules = [pipe.unet, *_controlnets(pipe)]
        saved = []
        for module in modules:
            for attention in _cross_attentions(module):
                saved.append((attention, attention.processor))
                attention.set_processor(RegionalCrossAttention(attention.processor, run))
        hooks = [module.register_forward_pre_hook(run.before, with_kwargs=True) for module in modules]
        hooks.append(pipe.unet.register_forward_hook(run.blend, with_kwargs=True))
        try:
            yield {}
        finally:
            for hook in hooks:
                hook.remove()
            for attention, processor in saved:
                attention.set_processor(processor)
            run.switch(self.background.adapters)


class RegionalRun:
    """One denoising run: the layout and passes for the latent size the models are called with, and the pass hooks.

    The pipeline's own UNet call runs the first pass (its inputs swapped by the pre-hook); the forward hook runs
    the others and returns the blended prediction at the whole latent's size.
    """

    def __init__(self, conditioning: RegionalConditioning, switch):
        self.conditioning, self.switch = conditioning, switch
        self.layout: RegionLayout | None = None
        self.passes: list[UnetPass] = []
        self.conditional: list[bool] = []
        self.full: tuple[tuple, dict] = ((), {})  # the pipeline's own UNet arguments of this step
        self.crop: tuple[int, int, int, int] | None = None  # the latent window the UNet pass now running sees
        self._reference_masks: dict[tuple, torch.Tensor] = {}

    def before(self, module, args, kwargs):
        """Forward pre-hook (UNet, ControlNets): the layout for this latent size; the UNet's first pass's inputs."""
        sample = args[0] if args else kwargs["sample"]
        latent = (int(sample.shape[-2]), int(sample.shape[-1]))
        if self.layout is None or self.layout.latent != latent:
            c = self.conditioning
            self.layout = RegionLayout(c.boxes, latent, c.span)
            self.passes = c.unet_passes(latent, sample)
            self._reference_masks.clear()
        self.crop = (0, latent[0], 0, latent[1])
        if not self.passes or not hasattr(module, "up_blocks"):
            return args, kwargs
        current = kwargs["encoder_hidden_states"]
        background = self.conditioning.background.hidden.to(current.device, current.dtype)[0]
        self.conditional = [torch.equal(row, background) for row in current]  # the rows a region's text replaces
        self.full = (args, kwargs)
        self.switch(self.passes[0].text.adapters)
        self.crop = self.passes[0].crop
        return self._inputs(self.passes[0])

    def blend(self, module, args, kwargs, output):
        """UNet forward hook: run the other passes with their adapters, text and crops; blend the predictions by region."""
        if not self.passes:
            return output
        first = output[0] if isinstance(output, tuple) else output.sample
        full_args, full_kwargs = self.full
        sample = full_args[0] if full_args else full_kwargs["sample"]
        blended = torch.zeros(sample.shape, dtype=first.dtype, device=first.device)
        self._paste(blended, self.passes[0], first)
        for unet_pass in self.passes[1:]:
            self.switch(unet_pass.text.adapters)
            self.crop = unet_pass.crop
            pass_args, pass_kwargs = self._inputs(unet_pass)
            again = module.forward(*pass_args, **pass_kwargs)  # not through the hooks: its inputs are complete
            self._paste(blended, unet_pass, again[0] if isinstance(again, tuple) else again.sample)
        if isinstance(output, tuple):
            return (blended, *output[1:])
        output.sample = blended
        return output

    def reference_masks(self, cells: int, like: torch.Tensor) -> torch.Tensor:
        """[1, images, h, w]: each reference image's region over the cells of the layer (and window) being run."""
        assert self.layout is not None and self.crop is not None
        key = (cells, self.crop, like.dtype, like.device)
        if key not in self._reference_masks:
            y0, y1, x0, x1 = self.crop
            window = _levels((y1 - y0, x1 - x0))
            level = next(i for i, (h, w) in enumerate(window) if h * w == cells)
            full_height, full_width = _levels(self.layout.latent)[level]
            top, left, height, width = _window(self.crop, (full_height, full_width), level, window[level])
            boxes = self.conditioning.boxes
            masks = [region_cells(boxes[r], full_width, full_height)[top:top + height, left:left + width]
                     for r in self.conditioning.reference_regions]
            self._reference_masks[key] = torch.from_numpy(np.stack(masks)[None].astype(np.float32)).to(like.device, like.dtype)
        return self._reference_masks[key]

    @staticmethod
    def _paste(blended: torch.Tensor, unet_pass: UnetPass, prediction: torch.Tensor) -> None:
        y0, y1, x0, x1 = unet_pass.crop
        blended[..., y0:y1, x0:x1] += prediction * unet_pass.keep

    def _inputs(self, unet_pass: UnetPass) -> tuple[tuple, dict]:
        """The UNet's arguments for a pass: the whole latent as the pipeline gave it, or a region's crop with its text
        (the negative in the unconditional rows) and the crop of each ControlNet residual."""
        args, kwargs = self.full
        if unet_pass.text.region is None:
            return args, kwargs
        y0, y1, x0, x1 = unet_pass.crop
        current = kwargs["encoder_hidden_states"]
        own = unet_pass.text.hidden.to(current.device, current.dtype)[0]
        negative = self.conditioning.negative.hidden.to(current.device, current.dtype)[0]
        kwargs = {**kwargs, "encoder_hidden_states": torch.stack([own if c else negative for c in self.conditional])}
        if args:
            args = (args[0][..., y0:y1, x0:x1], *args[1:])
        else:
            kwargs["sample"] = kwargs["sample"][..., y0:y1, x0:x1]
        levels = _levels((y1 - y0, x1 - x0))
        for key in ("down_block_additional_residuals", "mid_block_additional_residual", "down_intrablock_additional_residuals"):
            if kwargs.get(key) is not None:
                kwargs[key] = _cropped(kwargs[key], unet_pass.crop, self.layout.latent, levels)  # type: ignore[union-attr]
        return args, kwargs


def _levels(size: tuple[int, int]) -> list[tuple[int, int]]:
    """The UNet's feature sizes from the latent down (each level halves, rounding up)."""
    found = [size]
    for _ in range(6):
        found.append((math.ceil(found[-1][0] / 2), math.ceil(found[-1][1] / 2)))
    return found


def _cropped(residuals, crop: tuple[int, int, int, int], latent: tuple[int, int], levels: list[tuple[int, int]]):
    """ControlNet or T2I-Adapter residuals (a tensor or a sequence of them) cut to a crop, each at its level's resolution."""
    if isinstance(residuals, (tuple, list)):
        return type(residuals)(_cropped(r, crop, latent, levels) for r in residuals)
    grid = (int(residuals.shape[-2]), int(residuals.shape[-1]))
    level = _levels(latent).index(grid)
    y0, x0, height, width = _window(crop, grid, level, levels[level])
    return residuals[..., y0:y0 + height, x0:x0 + width]


def _window(crop: tuple[int, int, int, int], grid: tuple[int, int], level: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a latent crop at a UNet level whose whole grid is `grid` and crop grid `size`."""
    height, width = size
    return min(crop[0] >> level, grid[0] - height), min(crop[2] >> level, grid[1] - width), height, width


def switch_unet_adapters(unet, adapters: Adapters) -> None:
    """Activate exactly these LoRA adapters in the UNet (none: LoRA layers off), without reloading anything."""
    if not getattr(unet, "_hf_peft_config_loaded", False):
        return
    present = [(name, weight) for name, weight in adapters if name in unet.peft_config]  # a LoRA may hold text-encoder layers only
    if not present:
        unet.disable_lora()
        return
    unet.enable_lora()
    unet.set_adapters([name for name, _ in present], weights=[weight for _, weight in present])


def _cross_attentions(module) -> list:
    from diffusers.models.attention_processor import Attention

    return [m for m in module.modules() if isinstance(m, Attention) and m.is_cross_attention]


def _controlnets(pipe) -> list:
    net = getattr(pipe, "controlnet", None)
    if net is None:
        return []
    return list(getattr(net, "nets", [net]))


def adapter_weights(names: dict[str, str], refs: tuple[AdapterRef, ...]) -> Adapters:
    """(adapter name, UNet weight) of LoRA refs, by the resident model's fingerprint → name table."""
    return tuple((names[ref.file.fingerprint], float(ref.weight)) for ref in refs)


def region_loras(request: GenerateRequest, region: Region) -> tuple[AdapterRef, ...]:
    """The LoRAs active in a region: the prompt's, then the character's (a file both name takes the character's weight)."""
    by_file = {ref.file.path: ref for ref in request.loras}
    by_file.update({ref.file.path: ref for ref in region.loras})
    return tuple(by_file.values())


def every_lora(request: GenerateRequest) -> tuple[AdapterRef, ...]:
    """Every LoRA a request loads: the prompt's and each region's, each file once."""
    return tuple({ref.file.path: ref for ref in (*request.loras, *(r for region in request.regions for r in region.loras))}.values())


def every_embedding(request: GenerateRequest) -> tuple[FileRef, ...]:
    """Every textual-inversion file a request uses (a region's token appears only in its own prompt)."""
    return tuple({ref.path: ref for ref in (*request.embeddings, *(e for region in request.regions for e in region.embeddings))}.values())


def plain_prompt(prompt: str, steps: int) -> str:
    """A region's (or the scene's) text as encoded: tags removed; AND parts and prompt editing refused."""
    parts = prompt_parts(prompt, steps)
    if len(parts) != 1 or parts[0].weight != 1.0 or len(parts[0].schedule) != 1:
        raise EngineError(f"prompt {prompt!r}: a panel with several characters takes no AND parts or prompt editing")
    return parts[0].schedule[0].text


def plain_negative(negative: str, steps: int) -> str:
    spans = negative_schedule(negative, steps)
    if len(spans) != 1:
        raise EngineError(f"negative prompt {negative!r}: a panel with several characters takes no prompt editing")
    return spans[0].text


def reference_regions(request: GenerateRequest) -> tuple[int, ...]:
    """The region of each of the request's reference images, when they are its regions' references in order, else ()."""
    if not request.regions or request.references != tuple(ref for region in request.regions for ref in region.references):
        return ()
    return tuple(index for index, region in enumerate(request.regions) for _ in region.references)


def region_settings(request: GenerateRequest) -> str:
    """The A1111-style `Regions` entry: each character's box, in panel fractions."""
    return '"' + "; ".join(f"{r.who}: " + " ".join(f"{v:.3f}" for v in r.box) for r in request.regions) + '"'
