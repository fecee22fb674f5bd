"""Full-size key sets (slow): exactly the real checkpoints' keys and shapes, random weights."""

import pytest

import diffusion_tiny as tiny


@pytest.mark.slow
def test_full_size_sd15_key_set_loads_and_generates(tmp_path, make_request):
    """Exactly the SD 1.5 key set and shapes of reference/sd15_keys.tsv, random weights (fp16 on disk)."""
    import numpy as np

    from comicforge.weights.checkpoint import detect_model
    from comicforge.engines.diffusion.engine import DiffusionEngine

    rows = list(tiny.reference_keys("sd15_keys.tsv"))
    sd = {k: (v.half() if v.is_floating_point() else v) for k, v in tiny._build(rows, {}, 0).items()}
    path = tiny.save(sd, tmp_path / "full-sd15.safetensors")
    del sd
    info = detect_model(path)
    assert (info.family, info.context_dim, info.native_size) == ("sd1", 768, 512)
    img = DiffusionEngine(device="cpu").generate(make_request(path, steps=1, width=64, height=64))
    again = DiffusionEngine(device="cpu").generate(make_request(path, steps=1, width=64, height=64))
    assert img.size == (64, 64) and np.asarray(img).std() > 0  # an image, not a flat fill
    assert np.array_equal(np.asarray(img), np.asarray(again))
