"""Sampler names as A1111 users know them (names only: no torch here)."""

SAMPLER_NAMES: tuple[str, ...] = (
    "DPM++ 2M Karras",
    "DPM++ 2M",
    "DPM++ 2M SDE Karras",
    "DPM++ SDE Karras",
    "Euler a",
    "Euler",
    "DDIM",
    "UniPC",
    "Heun",
    "LMS Karras",
    "LCM",
)
DEFAULT_SAMPLER = "DPM++ 2M Karras"
FLOW_SAMPLER_NAMES: tuple[str, ...] = ("Euler", "Euler a", "Heun")  # those with a flow-matching scheduler (SD3)
DEFAULT_FLOW_SAMPLER = "Euler"
