"""Stable Diffusion engine on diffusers (heavy imports live in engine.py and below)."""

VERSION = "diffusion-1"  # bump whenever output bytes change (1: prompt editing, alternation, AND, LoRA tags taken out of the text)
