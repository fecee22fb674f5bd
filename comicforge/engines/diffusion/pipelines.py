"""The diffusers pipeline for a task (text, img2img, inpaint), with or without ControlNets, from resident modules.

Every variant shares the resident pipeline's UNet, VAE, text encoders (and their LoRA layers and IP-Adapter
processors): `from_pipe` wires the same module objects into another pipeline class, nothing is reloaded or copied.
"""

from __future__ import annotations

TASKS = ("text", "img2img", "inpaint")

# (task, with ControlNet) → (SD 1.x/2.x class, SDXL class), diffusers names
PIPELINE_CLASSES = {
    ("text", False): ("StableDiffusionPipeline", "StableDiffusionXLPipeline"),
    ("text", True): ("StableDiffusionControlNetPipeline", "StableDiffusionXLControlNetPipeline"),
    ("img2img", False): ("StableDiffusionImg2ImgPipeline", "StableDiffusionXLImg2ImgPipeline"),
    ("img2img", True): ("StableDiffusionControlNetImg2ImgPipeline", "StableDiffusionXLControlNetImg2ImgPipeline"),
    ("inpaint", False): ("StableDiffusionInpaintPipeline", "StableDiffusionXLInpaintPipeline"),
    ("inpaint", True): ("StableDiffusionControlNetInpaintPipeline", "StableDiffusionXLControlNetInpaintPipeline"),
}
SD3_CLASSES = {"text": "StableDiffusion3Pipeline", "img2img": "StableDiffusion3Img2ImgPipeline", "inpaint": "StableDiffusion3InpaintPipeline"}


def task_pipeline(base, task: str, is_sdxl: bool, controlnets: list | None = None):
    """`base` itself for plain text-to-image, else a pipeline of the task's class sharing `base`'s modules."""
    import diffusers

    controlnets = controlnets or []
    sd3 = type(base).__name__.startswith("StableDiffusion3")  # SD3's denoiser is a transformer; no ControlNets here yet
    name = SD3_CLASSES[task] if sd3 else PIPELINE_CLASSES[(task, bool(controlnets))][int(is_sdxl)]
    if type(base).__name__ == name:
        return base
    cls = getattr(diffusers, name)
    extra = {"controlnet": controlnets if len(controlnets) > 1 else controlnets[0]} if controlnets else {}
    pipe = cls.from_pipe(base, dtype=(base.transformer if sd3 else base.unet).dtype, **extra)
    pipe.set_progress_bar_config(disable=True)
    return pipe
