"""Stable Diffusion engine on diffusers (heavy imports live in engine.py and below)."""

VERSION = "diffusion-0"
