"""Torch-free inspection of the model files users have: checkpoint family, LoRA and ControlNet headers, offline lookup."""
