"""A1111's "DPM++ SDE Karras" without torchsde: DPM-Solver++ (stochastic, 2 stages per step, r = 1/2).

Implements k-diffusion's `sample_dpmpp_sde` (Lu et al. 2022, "DPM-Solver++", with ancestral noise, eta = 1) as
a diffusers scheduler. k-diffusion draws the noise from a torchsde Brownian tree over sigma; we sample the same
Brownian motion exactly at the two points each step queries (the increments over sigma(s) and sigma(next)
share the first part), seeded from the panel seed, so the noise has the same law and correlations.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin, SchedulerOutput


class BrownianDPMSolverSDEScheduler(SchedulerMixin, ConfigMixin):
    order = 2

    @register_to_config
    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 0.00085,
        beta_end: float = 0.012,
        beta_schedule: str = "scaled_linear",
        prediction_type: str = "epsilon",
        use_karras_sigmas: bool = True,
        noise_sampler_seed: int | None = None,
        steps_offset: int = 1,
        timestep_spacing: str = "leading",
        clip_sample: bool = False,
        set_alpha_to_one: bool = False,
    ):
        if beta_schedule == "scaled_linear":
            betas = np.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=np.float64) ** 2
        else:
            betas = np.linspace(beta_start, beta_end, num_train_timesteps, dtype=np.float64)
        alphas_cumprod = np.cumprod(1.0 - betas)
        self.train_sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
        self.log_train_sigmas = np.log(self.train_sigmas)
        self.init_noise_sigma = float(self.train_sigmas[-1])
        self.timesteps = torch.tensor([])
        self.sigmas = torch.tensor([])

    def _t_of(self, sigma: float) -> float:
        return float(np.interp(math.log(sigma), self.log_train_sigmas, np.arange(len(self.train_sigmas))))

    def set_timesteps(self, num_inference_steps: int, device=None, **_):
        lo, hi, rho = float(self.train_sigmas[0]), float(self.train_sigmas[-1]), 7.0
        ramp = np.linspace(0, 1, num_inference_steps)
        sigmas = (hi ** (1 / rho) + ramp * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho
        self.step_sigmas = [float(s) for s in sigmas] + [0.0]
        self.stage_sigmas: list[float] = []  # sigma the model sees at each call, in call order
        for s, s_next in zip(self.step_sigmas[:-1], self.step_sigmas[1:]):
            self.stage_sigmas.append(s)
            if s_next > 0:
                self.stage_sigmas.append(math.exp(-(-math.log(s) + 0.5 * (math.log(s) - math.log(s_next)))))
        self.sigmas = torch.tensor(self.step_sigmas, dtype=torch.float32)
        self.timesteps = torch.tensor([self._t_of(s) for s in self.stage_sigmas], dtype=torch.float32, device=device)
        self.init_noise_sigma = self.step_sigmas[0]
        self.num_inference_steps = num_inference_steps
        self._call = 0
        self._step = 0
        self._first = None  # (x, denoised, noise increment A) between the two stages of a step
        seed = self.config.noise_sampler_seed
        self._noise_gen = torch.Generator("cpu").manual_seed(int(seed) if seed is not None else 0)

    def scale_model_input(self, sample: torch.Tensor, timestep=None) -> torch.Tensor:
        sigma = self.stage_sigmas[self._call]
        return sample / ((sigma**2 + 1) ** 0.5)

    def _denoised(self, model_output, sample, sigma):
        if self.config.prediction_type == "v_prediction":
            return model_output * (-sigma / (sigma**2 + 1) ** 0.5) + sample / (sigma**2 + 1)
        return sample - sigma * model_output

    def _gauss(self, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(like.shape, generator=self._noise_gen, dtype=torch.float32).to(like.device, like.dtype)

    @staticmethod
    def _ancestral(sigma_from: float, sigma_to: float) -> tuple[float, float]:
        up = min(sigma_to, (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5)
        return (sigma_to**2 - up**2) ** 0.5, up

    def step(self, model_output, timestep, sample, generator=None, return_dict: bool = True, **_):
        sigma, sigma_next = self.step_sigmas[self._step], self.step_sigmas[self._step + 1]
        t, t_next = -math.log(sigma), (-math.log(sigma_next) if sigma_next > 0 else math.inf)
        if self._first is None:
            denoised = self._denoised(model_output, sample, sigma)
            if sigma_next == 0:
                prev = denoised
                self._step += 1
            else:
                s = t + 0.5 * (t_next - t)
                sigma_s = math.exp(-s)
                down, up = self._ancestral(sigma, sigma_s)
                s_ = -math.log(down)
                increment_a = self._gauss(sample) * (sigma - sigma_s) ** 0.5  # W(sigma) - W(sigma_s)
                prev = (math.exp(-s_) / sigma) * sample - math.expm1(t - s_) * denoised
                prev = prev + (-increment_a / (sigma - sigma_s) ** 0.5) * up
                self._first = (sample, denoised, increment_a, sigma_s)
        else:
            x, denoised, increment_a, sigma_s = self._first
            denoised_2 = self._denoised(model_output, sample, sigma_s)
            down, up = self._ancestral(sigma, sigma_next)
            t_next_ = -math.log(down)
            denoised_d = denoised_2  # (1 - fac)·denoised + fac·denoised_2 with fac = 1/(2r) = 1
            prev = (math.exp(-t_next_) / sigma) * x - math.expm1(t - t_next_) * denoised_d
            increment_b = self._gauss(x) * (sigma_s - sigma_next) ** 0.5  # W(sigma_s) - W(sigma_next)
            prev = prev + (-(increment_a + increment_b) / (sigma - sigma_next) ** 0.5) * up
            self._first = None
            self._step += 1
        self._call += 1
        if not return_dict:
            return (prev,)
        return SchedulerOutput(prev_sample=prev)

    def __len__(self):
        return self.config.num_train_timesteps
