"""T2I-Adapters (TencentARC; Mou et al. 2023) beside any pipeline: features of the control image added inside the UNet.

diffusers runs an adapter only in its own `StableDiffusion(XL)AdapterPipeline`, which takes neither a ControlNet
nor an init image. What that pipeline does is small, so we do it around every pipeline: run the adapter once on
the control image, scale its features by the weight (summed over adapters, as `MultiAdapter` does), and hand
them to each UNet call as `down_intrablock_additional_residuals`, repeated over the guided batch (the adapter
pipeline's `torch.cat([v] * 2)`). A forward pre-hook does it, so text-to-image, img2img, inpaint and ControlNet
pipelines all take adapters; at weight 0 the UNet adds exact zeros, so the panel equals one without the adapter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from PIL import Image

from comicforge.errors import EngineError
from comicforge.weights.t2i_adapter import T2IAdapterInfo


def load_t2i_adapter(info: T2IAdapterInfo, dtype: torch.dtype, unet_widths: tuple[int, ...]):
    """A diffusers T2IAdapter from its folder on the CPU in `dtype`, checked against the UNet's block widths."""
    import diffusers

    if info.channels[: len(unet_widths)] != unet_widths:
        raise EngineError(f"{info.path}: this T2I-Adapter's feature widths {list(info.channels)} do not fit the model's "
                          f"UNet blocks {list(unet_widths)}")
    try:
        return diffusers.T2IAdapter.from_pretrained(str(info.path), torch_dtype=dtype, local_files_only=True).eval()
    except (OSError, ValueError, RuntimeError) as error:
        raise EngineError(f"{info.path}: cannot load the T2I-Adapter ({str(error)[:300]})") from error


def adapter_input(image: Image.Image, in_channels: int) -> torch.Tensor:
    """The control image as the adapter pipeline feeds it: [1, C, H, W] in 0..1 (grey for a 1-channel adapter)."""
    pixels = np.asarray(image.convert("L" if in_channels == 1 else "RGB"), dtype=np.float32) / 255.0
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels
    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None]


def adapter_features(adapters: list[tuple[object, Image.Image, float]]) -> list[torch.Tensor]:
    """Σ weightₖ · adapterₖ(imageₖ), per UNet level; [] for no adapters."""
    total: list[torch.Tensor] = []
    with torch.no_grad():
        for module, image, weight in adapters:
            factor = int(module.downscale_factor)  # type: ignore[attr-defined]
            if image.width % factor or image.height % factor:
                raise EngineError(f"this T2I-Adapter needs a generation size in multiples of {factor} px (the panel is "
                                  f"{image.width}x{image.height}); give the panel a `size:` that is")
            first = next(module.parameters())  # type: ignore[attr-defined]
            x = adapter_input(image, module.config.in_channels).to(first.device, first.dtype)  # type: ignore[attr-defined]
            features = [f * float(weight) for f in module(x)]  # type: ignore[operator]
            total = features if not total else [a + b for a, b in zip(total, features)]
    return total


@contextmanager
def adapter_residuals(pipe, features: list[torch.Tensor]) -> Iterator[None]:
    """While the pipeline runs, every call of its UNet gets the features as `down_intrablock_additional_residuals`."""
    if not features:
        yield
        return

    def add(_module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        sample = args[0] if args else kwargs["sample"]
        residuals = [f.to(sample.device, sample.dtype).repeat(sample.shape[0] // f.shape[0], 1, 1, 1) for f in features]
        earlier = kwargs.get("down_intrablock_additional_residuals")
        kwargs["down_intrablock_additional_residuals"] = residuals if not earlier else [a + b for a, b in zip(earlier, residuals)]
        return args, kwargs

    handle = pipe.unet.register_forward_pre_hook(add, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()
