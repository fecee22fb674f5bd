"""The diffusion engine: a panel request → an image, through a resident diffusers pipeline.

Phases of `generate`: settings → resident model → ControlNets, T2I-Adapters and control images → adapters (LoRA
weights, embeddings, IP-Adapter) → prompt embeddings → pipeline for the task → scheduler → denoise (diffusers' own
loop) → checked VAE decode → A1111 metadata. `refine` runs the same phases through the img2img / inpaint pipelines,
with the panel's control images at the edit's size (an outpaint's extended with the canvas) unless the step says not.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # not a load report of "missing" LoRA keys per text encoder

import dataclasses
import functools
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from comicforge.control.images import Renderer, control_image, outpaint_control_image
from comicforge.engines.diffusion import VERSION
from comicforge.engines.diffusion.conditioning import StepConditioning, chunk_length, encode_texts, step_conditioning
from comicforge.engines.diffusion.controlnet import load_controlnet
from comicforge.engines.diffusion.embeddings import load_embedding
from comicforge.engines.diffusion.ip_adapter import load_ip_adapter, reference_scale
from comicforge.engines.diffusion.lora import load_lora_state
from comicforge.engines.diffusion.metadata import a1111_parameters, format_number, ref_sha256
from comicforge.engines.diffusion.models import build_pipeline
from comicforge.engines.diffusion.pipelines import task_pipeline
from comicforge.engines.diffusion.prompts import (
    TextEncoderSide,
    token_ids_for,
)
from comicforge.engines.diffusion.refine import (
    EditInput,
    denoising_steps,
    edit_for_step,
    grown_to,
    kept_outside_mask,
    outpaint_frame,
    outpainted_request,
    padded_to_grid,
    read_image,
)
from comicforge.engines.diffusion.regions import (
    PassText,
    RegionalConditioning,
    adapter_weights,
    every_embedding,
    every_lora,
    plain_negative,
    plain_prompt,
    reference_regions,
    region_loras,
    region_settings,
)
from comicforge.engines.diffusion.schedulers import base_scheduler_config, make_scheduler, sampler_spec
from comicforge.engines.diffusion.sd3 import sd3_conditioning
from comicforge.engines.diffusion.t2i_adapter import adapter_features, adapter_residuals, load_t2i_adapter
from comicforge.errors import EngineError
from comicforge.promptlang.networks import scan_tags
from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.requests import ControlInput, Edit, GenerateRequest, Img2Img, Outpaint, step_request
from comicforge.weights.checkpoint import ModelInfo, detect_model
from comicforge.weights.controlnet import check_controlnet_fits, detect_controlnet
from comicforge.weights.t2i_adapter import check_t2i_adapter_fits, detect_t2i_adapter

Conditioning = StepConditioning | RegionalConditioning
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class RunSettings:
    """Engine extras from `request.options` (precision, device, memory savers)."""

    device: str
    dtype: torch.dtype
    vae_tiling: bool | None = None  # None: automatic above 4× the native pixel count
    attention_slicing: bool = False
    offload: str = ""  # "" | "model" | "sequential"

    @classmethod
    def from_request(cls, request: GenerateRequest, default_device: str) -> RunSettings:
        opts = dict(request.options)
        device = opts.get("device", default_device)
        precision = opts.get("precision", "fp32" if device == "cpu" else "fp16")
        if precision not in DTYPES:
            raise EngineError(f"unknown precision {precision!r}; valid: {', '.join(DTYPES)}")
        flag = lambda k: opts[k].lower() in ("1", "true", "yes", "on") if k in opts else None  # noqa: E731
        return cls(device, DTYPES[precision], flag("vae_tiling"), bool(flag("attention_slicing")), opts.get("offload", ""))


@dataclass
class ResidentModel:
    """A loaded pipeline and what has been attached to it."""

    info: ModelInfo
    pipe: object
    sides: list[TextEncoderSide]
    settings_key: tuple
    sha256: str
    loras: dict[str, str] = field(default_factory=dict)  # LoRA fingerprint → adapter name
    lora_hashes: dict[str, str] = field(default_factory=dict)  # adapter name → file sha256
    embeddings: dict[str, tuple[str, list]] = field(default_factory=dict)  # fingerprint → (token, vectors per side)
    vae_fp32: object = None
    ip_adapter: str | None = None  # fingerprint of the attached IP-Adapter
    attention_slicing: bool = False


@dataclass(frozen=True)
class ActiveControl:
    """One ControlNet or T2I-Adapter steering a panel: its resident model, control image and the request's settings for it."""

    control: ControlInput
    module: object
    image: Image.Image
    sha256: str


def _adapter_name(ref: AdapterRef) -> str:
    return "lora_" + re.sub(r"\W", "_", ref.file.fingerprint)[:24]


class DiffusionEngine:
    """Stable Diffusion 1.x/2.x/SDXL/3 panels through diffusers; models stay resident across calls."""

    name = "diffusion"
    version = VERSION

    def __init__(self, device: str | None = None, max_resident: int = 1):
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.max_resident = max_resident
        self._models: OrderedDict[str, ResidentModel] = OrderedDict()
        self._controlnets: OrderedDict[tuple, object] = OrderedDict()  # (fingerprint, device, dtype) → ControlNet / T2I-Adapter
        self.max_controlnets = 4

    # --- the story ----------------------------------------------------------------------------------------------

    def generate(self, request: GenerateRequest) -> Image.Image:
        return self.generate_batch([request])[0]

    def generate_batch(self, requests: list[GenerateRequest]) -> list[Image.Image]:
        """A panel's candidates (requests differing only in seed) denoised as one batch, each from its own seed's noise.

        Each image equals its request generated alone: diffusers draws every sample's noise from its own generator.
        Samplers seeded through the scheduler (DPM++ SDE) and requests that differ otherwise run one by one.
        """
        request = requests[0]
        if len(requests) > 1 and not batchable(requests):
            return [image for one in requests for image in self.generate_batch([one])]
        if request.width % 8 or request.height % 8 or request.width <= 0 or request.height <= 0:
            raise EngineError(f"panel {request.panel_id}: generation size {request.width}x{request.height} must be positive multiples of 8")
        settings, model = self._settings_and_model(request)
        controls, adapters = self._controls(model, request, settings), self._t2i_adapters(model, request, settings)
        vectors, conditioning, references = self._adapters_and_conditioning(model, request)
        pipe = task_pipeline(model.pipe, "text", model.info.is_sdxl, [c.module for c in controls])
        pipe.scheduler = make_scheduler(request.sampler, base_scheduler_config(model.info.prediction), request.seed)
        if len(requests) > 1 and not conditioning.is_plain:  # a scheduled or composed prompt steers one sample's batch
            return [image for one in requests for image in self.generate_batch([one])]
        size = {"height": request.height, "width": request.width, "num_images_per_prompt": len(requests)}
        latents = self._denoise(pipe, request, conditioning, {**references, **size, **control_arguments(controls)}, [r.seed for r in requests],
                                features(adapters))
        images = []
        for one, latent in zip(requests, latents):
            image = self._decode(model, latent[None], settings)
            image.info["parameters"] = self._parameters(model, one, vectors, controlnet_settings([*controls, *adapters]))
            images.append(image)
        return images

    def refine(self, request: GenerateRequest, image: Image.Image, step: Edit) -> Image.Image:
        """One editing step through the img2img / inpaint pipelines; pixels outside a mask are kept exactly."""
        source = read_image(step.init, "init image") if isinstance(step, Img2Img) and step.init is not None else image.convert("RGB")
        edit = edit_for_step(source, step)
        request = step_request(request, step, edit.image.size)
        draw: Renderer = control_image
        if isinstance(step, Outpaint):  # the control images extend with the canvas, staying on the panel's pixels
            request = outpainted_request(request, step.extend, image.size)
            draw = functools.partial(outpaint_control_image, frame=outpaint_frame(image.size, step.extend))
        settings, model = self._settings_and_model(request)
        vectors, conditioning, references = self._adapters_and_conditioning(model, request)
        result, steering = edit.image.copy(), {}
        if denoising_steps(edit, request.steps):
            repainted, steering = self._repaint(model, request, settings, edit, conditioning, references, draw)
            result = kept_outside_mask(edit.image, repainted, edit.mask)
        if isinstance(step, Outpaint) and step.width and step.height:
            result = result.resize((step.width, step.height), Image.Resampling.LANCZOS)
        settings_text = {"Denoising strength": format_number(edit.strength), "Size": f"{result.width}x{result.height}", **steering}
        result.info["parameters"] = self._parameters(model, request, vectors, settings_text)
        return result

    def close(self) -> None:
        self._models.clear()
        self._controlnets.clear()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # --- phases -------------------------------------------------------------------------------------------------

    def _settings_and_model(self, request: GenerateRequest) -> tuple[RunSettings, ResidentModel]:
        sampler_spec(request.sampler)
        settings = RunSettings.from_request(request, self.device)
        return settings, self._resident(request.model, settings)

    def _adapters_and_conditioning(self, model: ResidentModel, request: GenerateRequest) -> tuple[dict, Conditioning, dict]:
        """Attach the request's LoRAs, embeddings and IP-Adapter → (token vectors, step conditioning, reference arguments)."""
        if request.regions:
            self._load_loras(model, every_lora(request))
            vectors = self._embeddings(model, every_embedding(request))
            return vectors, self._regional_conditioning(model, request, vectors), self._references(model, request)
        self._apply_loras(model, request.loras)
        vectors = self._embeddings(model, request.embeddings)
        references = self._references(model, request)
        return vectors, self._conditioning(model, request, vectors), references

    def _regional_conditioning(self, model: ResidentModel, request: GenerateRequest, vectors: dict[str, list]) -> RegionalConditioning:
        """The negative and [scene | region 1 | …] with the prompt's LoRAs, and the text of each region with a pass of
        its own (its character's LoRAs or references), encoded with its LoRAs active, so no character's text-encoder
        LoRA reaches another's region; every span one length."""
        steps, sides, is_sdxl = int(request.steps), model.sides, model.info.is_sdxl
        texts = [plain_prompt(request.scene, steps), *(plain_prompt(region.prompt, steps) for region in request.regions)]
        negative_text = plain_negative(request.negative, steps)
        length = chunk_length(sides, [negative_text, *texts], vectors)
        self._activate_loras(model, request.loras)
        negative, scene, *encoded = encode_texts(sides, [negative_text, *texts], request.clip_skip, vectors, is_sdxl, length)
        background = PassText(adapter_weights(model.loras, request.loras), torch.cat([scene.hidden, *(e.hidden for e in encoded)], dim=1))
        owners = reference_regions(request)
        own_passes = []
        for index, (region, text) in enumerate(zip(request.regions, texts[1:])):
            if region.loras:
                loras = region_loras(request, region)
                self._activate_loras(model, loras)
                own = encode_texts(sides, [text], request.clip_skip, vectors, is_sdxl, length)[0]
                own_passes.append(PassText(adapter_weights(model.loras, loras), own.hidden, index))
            elif index in owners:  # its references only: its text as the background encoded it
                own_passes.append(PassText(background.adapters, encoded[index].hidden, index))
        self._activate_loras(model, request.loras)
        return RegionalConditioning(background, tuple(own_passes), negative, scene.pooled, tuple(r.box for r in request.regions), is_sdxl,
                                    owners)

    def _references(self, model: ResidentModel, request: GenerateRequest) -> dict:
        """Attach (or detach) the IP-Adapter; the pipeline's reference images. References without one do nothing."""
        wanted = request.ip_adapter if request.references else None
        if model.ip_adapter is not None and (wanted is None or wanted.fingerprint != model.ip_adapter):
            model.pipe.unload_ip_adapter()
            model.ip_adapter = None
        if wanted is None:
            return {}
        if model.ip_adapter is None:
            load_ip_adapter(model.pipe, Path(wanted.path))
            model.ip_adapter = wanted.fingerprint
        model.pipe.set_ip_adapter_scale(reference_scale([float(r.weight) for r in request.references]))
        return {"ip_adapter_image": [[read_image(r.file, "reference image") for r in request.references]]}

    def _repaint(self, model: ResidentModel, request: GenerateRequest, settings: RunSettings, edit: EditInput,
                 conditioning: Conditioning, references: dict, draw: Renderer) -> tuple[Image.Image, dict[str, str]]:
        """Denoise an edit from its image at its strength (inpaint when it has a mask); same prompts, samplers and
        control inputs (control images drawn by `draw` at the edit's size, grown with the image to the latent grid)
        → (image, the ControlNet settings for the infotext)."""
        padded = padded_to_grid(edit)
        controls = [dataclasses.replace(c, image=grown_to(c.image, padded.image.size)) for c in self._controls(model, request, settings, draw)]
        adapters = [dataclasses.replace(a, image=grown_to(a.image, padded.image.size)) for a in self._t2i_adapters(model, request, settings, draw)]
        pipe = task_pipeline(model.pipe, "img2img" if padded.mask is None else "inpaint", model.info.is_sdxl, [c.module for c in controls])
        pipe.scheduler = make_scheduler(request.sampler, base_scheduler_config(model.info.prediction), request.seed)
        if not hasattr(pipe.scheduler, "add_noise") and not hasattr(pipe.scheduler, "scale_noise"):
            raise EngineError(f"panel {request.panel_id}: the sampler {request.sampler!r} cannot start from an image "
                              "here (install torchsde, or pick another sampler for editing steps)")
        arguments = {"image": padded.image, "strength": float(edit.strength), **control_arguments(controls, "control_image")}
        if padded.mask is not None:
            arguments.update(mask_image=padded.mask)
        if padded.mask is not None or model.info.is_sd3:  # SD3's img2img resizes to its default size unless told
            arguments.update(height=padded.image.height, width=padded.image.width)
        latents = self._denoise(pipe, request, conditioning, {**references, **arguments}, None, features(adapters))
        return self._decode(model, latents, settings).crop((0, 0, *edit.image.size)), controlnet_settings([*controls, *adapters])

    def _resident(self, ref: FileRef | None, settings: RunSettings) -> ResidentModel:
        if ref is None:
            raise EngineError("the diffusion engine needs a `model:` (a checkpoint file or diffusers folder)")
        key = (settings.device, str(settings.dtype), settings.offload)
        model = self._models.get(ref.fingerprint)
        if model is not None and model.settings_key == key:
            self._models.move_to_end(ref.fingerprint)
            self._memory_savers(model, settings)
            return model
        self._models.pop(ref.fingerprint, None)
        while len(self._models) >= self.max_resident:
            self._models.popitem(last=False)
        info = detect_model(Path(ref.path))
        pipe = build_pipeline(info, dtype=settings.dtype)
        offload = settings.offload if settings.device != "cpu" else ""  # on the CPU there is nowhere to offload to
        if offload == "model":
            pipe.enable_model_cpu_offload(device=settings.device)
        elif offload == "sequential":
            pipe.enable_sequential_cpu_offload(device=settings.device)
        else:
            pipe.to(settings.device)
        pipe.set_progress_bar_config(disable=True)
        model = ResidentModel(info, pipe, _sides(pipe, info), key, ref_sha256(ref))
        self._models[ref.fingerprint] = model
        self._memory_savers(model, settings)
        return model

    def _memory_savers(self, model: ResidentModel, settings: RunSettings) -> None:
        """Switch attention slicing only when it changes: switching replaces every attention processor."""
        if settings.attention_slicing == model.attention_slicing:
            return
        if model.ip_adapter is not None:  # its processors are about to be replaced: attach it again when next used
            model.pipe.unload_ip_adapter()
            model.ip_adapter = None
        if settings.attention_slicing:
            model.pipe.enable_attention_slicing()
        else:
            model.pipe.disable_attention_slicing()
        model.attention_slicing = settings.attention_slicing

    def _controls(self, model: ResidentModel, request: GenerateRequest, settings: RunSettings,
                  draw: Renderer = control_image) -> list[ActiveControl]:
        """Each control input's resident ControlNet (checked against the model's family) and control image (drawn by `draw`)."""
        active = []
        for control in request.controls:
            if control.model is None or control.network != "controlnet":
                continue  # the panel has this input but the book names no ControlNet for it (or a T2I-Adapter reads it)
            if not 0.0 <= control.start < control.end <= 1.0:
                raise EngineError(f"panel {request.panel_id}: {control.kind} control start/end {control.start}/{control.end} "
                                  "must satisfy 0 <= start < end <= 1")
            info = detect_controlnet(Path(control.model.path))
            check_controlnet_fits(info, model.info)
            module = self._resident_network(control.model, settings, lambda info=info: load_controlnet(info, settings.dtype))
            active.append(ActiveControl(control, module, draw(request, control), ref_sha256(control.model)))
        return active

    def _t2i_adapters(self, model: ResidentModel, request: GenerateRequest, settings: RunSettings,
                      draw: Renderer = control_image) -> list[ActiveControl]:
        """Each T2I-Adapter input's resident adapter (checked against the model's family and widths) and control image (drawn by `draw`)."""
        active = []
        for control in request.controls:
            if control.model is None or control.network != "t2i-adapter":
                continue
            info = detect_t2i_adapter(Path(control.model.path))
            check_t2i_adapter_fits(info, model.info)
            widths = tuple(int(w) for w in model.pipe.unet.config.block_out_channels)
            module = self._resident_network(control.model, settings, lambda info=info, widths=widths: load_t2i_adapter(info, settings.dtype, widths))
            active.append(ActiveControl(control, module, draw(request, control), ref_sha256(control.model)))
        return active

    def _resident_network(self, ref: FileRef, settings: RunSettings, load):
        """A ControlNet or T2I-Adapter kept resident across panels (least recently used dropped beyond `max_controlnets`)."""
        key = (ref.fingerprint, settings.device, str(settings.dtype))
        module = self._controlnets.get(key)
        if module is None:
            module = load().to(settings.device)
            while len(self._controlnets) >= self.max_controlnets:
                self._controlnets.popitem(last=False)
            self._controlnets[key] = module
        self._controlnets.move_to_end(key)
        return module

    def _apply_loras(self, model: ResidentModel, loras: tuple[AdapterRef, ...]) -> None:
        """Load each LoRA once per resident model; switch between sets by adapter weights, never reloading."""
        self._load_loras(model, loras)
        self._activate_loras(model, loras)

    def _load_loras(self, model: ResidentModel, loras: tuple[AdapterRef, ...]) -> None:
        """Load each LoRA not yet attached to the resident model, as its own peft adapter."""
        pipe = model.pipe
        for ref in loras:
            if ref.file.fingerprint in model.loras:
                continue
            name = _adapter_name(ref)
            state = load_lora_state(Path(ref.file.path), model.info)
            try:
                pipe.load_lora_weights(state, adapter_name=name)
            except (ValueError, KeyError, RuntimeError) as e:
                raise EngineError(f"{ref.file.path}: LoRA does not fit the model {model.info.path.name} ({str(e)[:300]})") from e
            loaded = {n for names in pipe.get_list_adapters().values() for n in names}
            if name not in loaded:
                raise EngineError(f"{ref.file.path}: none of the LoRA's keys match a layer of {model.info.path.name}")
            model.loras[ref.file.fingerprint] = name
            model.lora_hashes[name] = ref_sha256(ref.file)

    def _activate_loras(self, model: ResidentModel, loras: tuple[AdapterRef, ...]) -> None:
        """Exactly these loaded LoRAs active, at their weights (none: LoRA layers off)."""
        pipe = model.pipe
        if not model.loras:
            return
        if loras:
            pipe.enable_lora()
            pipe.set_adapters([model.loras[r.file.fingerprint] for r in loras], adapter_weights=[_lora_weights(r, model.info.is_sdxl) for r in loras])
        else:
            pipe.disable_lora()

    def _embeddings(self, model: ResidentModel, refs: tuple[FileRef, ...]) -> dict[str, list]:
        """Token → one [n, width] tensor per text encoder."""
        out = {}
        widths = [side.encoder.get_input_embeddings().weight.shape[1] for side in model.sides]
        for ref in refs:
            if ref.fingerprint not in model.embeddings:
                path = Path(ref.path)
                model.embeddings[ref.fingerprint] = (path.stem, load_embedding(path, widths))
            token, vectors = model.embeddings[ref.fingerprint]
            out[token] = vectors
        return out

    def _conditioning(self, model: ResidentModel, request: GenerateRequest, vectors: dict[str, list]) -> StepConditioning:
        """The prompt's and negative's embeddings at every step, chunked and weighted A1111-style (each distinct text once);
        SD3's joined with T5's states into its joint context."""
        joined = model.info.is_sdxl or model.info.is_sd3
        conditioning = step_conditioning(model.sides, request.prompt, request.negative, int(request.steps), request.clip_skip, vectors, joined)
        return sd3_conditioning(conditioning, model.pipe, request.panel_id) if model.info.is_sd3 else conditioning

    def _denoise(self, pipe, request: GenerateRequest, conditioning: Conditioning, arguments: dict, seeds: list[int] | None = None,
                 residuals: list | None = None):
        """diffusers' own denoising loop, steered by the prompt's schedule (and T2I-Adapter `residuals`); noise drawn on
        the CPU from the panel seed (same on every device), one generator per sample."""
        generators = [torch.Generator("cpu").manual_seed(int(seed)) for seed in seeds or [request.seed]]
        generator = generators[0] if len(generators) == 1 else generators
        extra = {"eta": float(request.eta)} if request.sampler == "DDIM" else {}
        if conditioning.is_composed and float(request.cfg) <= 1:
            raise EngineError(f"panel {request.panel_id}: AND parts and a prompt's :weight need cfg above 1 (got {request.cfg})")
        with torch.no_grad(), adapter_residuals(pipe, residuals or []), conditioning.steering(pipe) as steering:
            result = pipe(
                **conditioning.first_arguments(),
                **arguments,
                **steering,
                num_inference_steps=int(request.steps),
                guidance_scale=float(request.cfg),
                generator=generator,
                output_type="latent",
                **extra,
            )
        return result.images

    def _decode(self, model: ResidentModel, latents, settings: RunSettings) -> Image.Image:
        """VAE decode; NaN or all-black output (fp16 overflow) is redone with an fp32 copy of the VAE."""
        pipe = model.pipe
        vae = pipe.vae
        pixels = latents.shape[-1] * latents.shape[-2] * 64
        tiling = settings.vae_tiling if settings.vae_tiling is not None else pixels > 4 * model.info.native_size**2
        image = _vae_decode(vae, latents, tiling)
        if _bad_decode(image):
            if model.vae_fp32 is None:
                import copy

                model.vae_fp32 = copy.deepcopy(vae).to(torch.float32)
            image = _vae_decode(model.vae_fp32, latents.to(torch.float32), tiling)
            if _bad_decode(image):
                raise EngineError(f"{model.info.path}: the VAE produced NaN or a black image even in fp32 (broken VAE weights?)")
        return pipe.image_processor.postprocess(image.float(), output_type="pil")[0].convert("RGB")

    def _parameters(self, model: ResidentModel, request: GenerateRequest, vectors: dict, extra: dict | None = None) -> str:
        settings: dict[str, object] = {
            "Steps": request.steps,
            "Sampler": request.sampler,
            "CFG scale": format_number(request.cfg),
            "Seed": request.seed,
            "Size": f"{request.width}x{request.height}",
            "Model hash": model.sha256[:10],
            "Model": Path(request.model.path).stem if request.model else "",
        }
        if request.clip_skip > 1:
            settings["Clip skip"] = request.clip_skip
        if request.sampler == "DDIM" and request.eta:
            settings["Eta DDIM"] = format_number(request.eta)
        if request.ip_adapter is not None and request.references:
            settings["IP-Adapter"] = f"{Path(request.ip_adapter.path).stem} [{ref_sha256(request.ip_adapter)[:10]}]"
            settings["IP-Adapter weight"] = format_number(reference_scale([r.weight for r in request.references]))
        settings.update(extra or {})
        tagged = {Path(tag.name).stem for tag in scan_tags(request.prompt).loras}  # tags stay in the prompt, as A1111 writes them
        loras = [(Path(r.file.path).stem, r.weight, model.lora_hashes[model.loras[r.file.fingerprint]]) for r in every_lora(request)]
        extra_tags = [lora for lora in loras if lora[0] not in tagged]
        tis = [(Path(r.path).stem, ref_sha256(r)) for r in every_embedding(request)]
        if request.regions:
            settings["Regions"] = region_settings(request)
        settings["Version"] = f"comicforge {VERSION}"
        return a1111_parameters(request.prompt, request.negative, settings, loras, tis, tags=extra_tags)


# --- helpers ------------------------------------------------------------------------------------------------------


def batchable(requests: list[GenerateRequest]) -> bool:
    """Whether candidates can share one batch: the same request but the seed, on a sampler whose noise comes from the generators."""
    first = requests[0]
    same = all(dataclasses.replace(r, seed=first.seed) == first for r in requests)
    return same and sampler_spec(first.sampler).scheduler != "DPMSolverSDEScheduler"


def control_arguments(controls: list[ActiveControl], image_key: str = "image") -> dict:
    """The ControlNet pipeline's control image (`image`, or `control_image` beside an init image), conditioning scale
    and guidance window (one value each, or lists)."""
    if not controls:
        return {}
    one = len(controls) == 1
    pick = lambda values: values[0] if one else values  # noqa: E731
    return {
        image_key: pick([c.image for c in controls]),
        "controlnet_conditioning_scale": pick([float(c.control.weight) for c in controls]),
        "control_guidance_start": pick([float(c.control.start) for c in controls]),
        "control_guidance_end": pick([float(c.control.end) for c in controls]),
    }


def features(adapters: list[ActiveControl]) -> list:
    """The T2I-Adapters' weighted features, summed (none: [])."""
    return adapter_features([(a.module, a.image, float(a.control.weight)) for a in adapters])


def controlnet_settings(controls: list[ActiveControl]) -> dict[str, str]:
    """A1111's `ControlNet N: "Module: …, Model: name [hash], Weight: …"` entries (sd-webui-controlnet lists
    T2I-Adapters as units too)."""
    return {
        f"ControlNet {i}": '"' + ", ".join((
            f"Module: {c.control.kind}",
            f"Model: {Path(c.control.model.path).stem} [{c.sha256[:10]}]",
            f"Weight: {format_number(c.control.weight)}",
            f"Guidance Start: {format_number(c.control.start)}",
            f"Guidance End: {format_number(c.control.end)}",
        )) + '"'
        for i, c in enumerate(controls)
    }


def _lora_weights(ref: AdapterRef, is_sdxl: bool) -> float | dict[str, float]:
    """One weight, or the UNet's and the text encoders' when a `<lora:NAME:TE:UNET>` tag gave both."""
    if ref.text_weight is None:
        return float(ref.weight)
    encoders = ("text_encoder", "text_encoder_2") if is_sdxl else ("text_encoder",)
    return {"unet": float(ref.weight), **{name: float(ref.text_weight) for name in encoders}}


def _sides(pipe, info: ModelInfo) -> list[TextEncoderSide]:
    if info.is_sdxl or info.is_sd3:
        return [
            TextEncoderSide(pipe.tokenizer, pipe.text_encoder, token_ids_for(pipe.tokenizer, "<|endoftext|>"), "penultimate"),
            TextEncoderSide(pipe.tokenizer_2, pipe.text_encoder_2, token_ids_for(pipe.tokenizer_2, "!"), "penultimate"),
        ]
    pad = pipe.tokenizer.pad_token or "<|endoftext|>"
    return [TextEncoderSide(pipe.tokenizer, pipe.text_encoder, token_ids_for(pipe.tokenizer, pad), "last")]


def _vae_decode(vae, latents, tiling: bool):
    if tiling:
        vae.enable_tiling()
    else:
        vae.disable_tiling()
    latents = latents.to(vae.dtype) / vae.config.scaling_factor
    if getattr(vae.config, "shift_factor", None):  # SD3's VAE: latents were shifted before scaling
        latents = latents + vae.config.shift_factor
    with torch.no_grad():
        return vae.decode(latents, return_dict=False)[0]


def _bad_decode(image) -> bool:
    return bool(torch.isnan(image).any() or torch.isinf(image).any() or (image <= -0.999).all())
