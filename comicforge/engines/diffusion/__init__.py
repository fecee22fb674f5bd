"""Stable Diffusion engine on diffusers (heavy imports live in engine.py and below)."""

VERSION = "diffusion-2"  # bump whenever output bytes change (1: prompt editing, alternation, AND, LoRA tags taken out of the text;
# 2: an outpaint's sketch, depth and normal control images extended with the canvas, no longer refitted to it;
# characters' references masked to their regions)
