"""A1111 sampler names → diffusers schedulers (the table diffusers documents for A1111/k-diffusion users)."""

from __future__ import annotations

from dataclasses import dataclass, field

from comicforge.errors import EngineError
from comicforge.spec.samplers import FLOW_SAMPLER_NAMES, SAMPLER_NAMES


@dataclass(frozen=True)
class SamplerSpec:
    scheduler: str  # diffusers class name
    options: dict = field(default_factory=dict)


SAMPLERS: dict[str, SamplerSpec] = {
    "DPM++ 2M Karras": SamplerSpec("DPMSolverMultistepScheduler", {"use_karras_sigmas": True, "algorithm_type": "dpmsolver++", "solver_order": 2}),
    "DPM++ 2M": SamplerSpec("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "DPM++ 2M SDE Karras": SamplerSpec("DPMSolverMultistepScheduler", {"use_karras_sigmas": True, "algorithm_type": "sde-dpmsolver++", "solver_order": 2}),
    "DPM++ SDE Karras": SamplerSpec("DPMSolverSDEScheduler", {"use_karras_sigmas": True}),
    "Euler a": SamplerSpec("EulerAncestralDiscreteScheduler"),
    "Euler": SamplerSpec("EulerDiscreteScheduler"),
    "DDIM": SamplerSpec("DDIMScheduler"),
    "UniPC": SamplerSpec("UniPCMultistepScheduler"),
    "Heun": SamplerSpec("HeunDiscreteScheduler"),
    "LMS Karras": SamplerSpec("LMSDiscreteScheduler", {"use_karras_sigmas": True}),
    "LCM": SamplerSpec("LCMScheduler"),
}
assert tuple(SAMPLERS) == SAMPLER_NAMES, "keep in step with comicforge/spec/samplers.py"
# SD3's rectified flow: the A1111 names that have a flow-matching scheduler ("Euler a": Euler with fresh noise each step).
FLOW_SAMPLERS: dict[str, SamplerSpec] = {
    "Euler": SamplerSpec("FlowMatchEulerDiscreteScheduler"),
    "Euler a": SamplerSpec("FlowMatchEulerDiscreteScheduler", {"stochastic_sampling": True}),
    "Heun": SamplerSpec("FlowMatchHeunDiscreteScheduler"),
}
assert tuple(FLOW_SAMPLERS) == FLOW_SAMPLER_NAMES, "keep in step with comicforge/spec/samplers.py"
FLOW_SHIFT = 3.0  # the timestep shift SD3 and 3.5 were trained with


def base_scheduler_config(prediction: str) -> dict:
    """The training noise schedule shared by SD 1.x, 2.x and SDXL (scaled-linear betas, 1000 steps); SD3's flow."""
    if prediction == "flow":
        return {"num_train_timesteps": 1000, "shift": FLOW_SHIFT, "prediction_type": "flow"}
    return {
        "num_train_timesteps": 1000,
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "prediction_type": prediction,
        "steps_offset": 1,
        "clip_sample": False,
        "set_alpha_to_one": False,
        "timestep_spacing": "leading",
    }


def sampler_spec(name: str) -> SamplerSpec:
    try:
        return SAMPLERS[name]
    except KeyError:
        raise EngineError(f"unknown sampler {name!r}; valid: {', '.join(SAMPLER_NAMES)}") from None


def has_torchsde() -> bool:
    try:
        import torchsde  # noqa: F401
    except ImportError:
        return False
    return True


def make_scheduler(name: str, base_config: dict, seed: int):
    """A fresh diffusers scheduler for an A1111 sampler name, on the model's noise schedule."""
    import diffusers

    if base_config.get("prediction_type") == "flow":
        if name not in FLOW_SAMPLERS:
            raise EngineError(f"the sampler {name!r} has no flow-matching scheduler for SD3; valid: {', '.join(FLOW_SAMPLER_NAMES)}")
        flow = FLOW_SAMPLERS[name]
        config = {k: v for k, v in base_config.items() if k != "prediction_type"}
        return getattr(diffusers, flow.scheduler).from_config(config, **flow.options)
    spec = sampler_spec(name)
    options = dict(spec.options)
    if spec.scheduler == "DPMSolverSDEScheduler":
        if has_torchsde():
            return diffusers.DPMSolverSDEScheduler.from_config(base_config, noise_sampler_seed=seed, **options)
        from comicforge.engines.diffusion.sde import BrownianDPMSolverSDEScheduler

        return BrownianDPMSolverSDEScheduler.from_config(base_config, noise_sampler_seed=seed, **options)
    cls = getattr(diffusers, spec.scheduler)
    return cls.from_config(base_config, **options)
