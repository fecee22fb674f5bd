"""Prompt editing, alternation and AND on tiny real-key models: the conditioning changes at the step the schedule says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from comicforge.errors import EngineError


def pixels(img):
    return np.asarray(img).astype(np.int16)


def _states_per_call(engine, request):
    """The UNet's encoder_hidden_states at each denoising call (text half of the guided batch), and the image."""
    seen = []
    engine.generate(request)  # load the model first
    unet = engine._models[request.model.fingerprint].pipe.unet
    hook = unet.register_forward_pre_hook(lambda _m, _a, kw: seen.append(kw["encoder_hidden_states"].clone()), with_kwargs=True)
    try:
        image = engine.generate(request)
    finally:
        hook.remove()
    return seen, image


def test_edit_switches_the_conditioning_at_its_step(engine, make_request, sd1_file):
    """`[cat:dog:3]` over 6 steps: calls 0-3 condition on `cat`, calls 4-5 on `dog` (A1111 counts steps from 0)."""
    cat, _ = _states_per_call(engine, make_request(sd1_file, prompt="cat", steps=6, sampler="Euler"))
    dog, _ = _states_per_call(engine, make_request(sd1_file, prompt="dog", steps=6, sampler="Euler"))
    edited, image = _states_per_call(engine, make_request(sd1_file, prompt="[cat:dog:3]", steps=6, sampler="Euler"))
    assert len(edited) == 6
    for i, states in enumerate(edited):
        expected = cat[i] if i <= 3 else dog[i]
        assert torch.equal(states, expected), i
        assert torch.equal(states[:1], cat[i][:1])  # the negative half never changes
    assert not torch.equal(cat[0][1:], dog[0][1:])
    plain_cat = pixels(engine.generate(make_request(sd1_file, prompt="cat", steps=6, sampler="Euler")))
    plain_dog = pixels(engine.generate(make_request(sd1_file, prompt="dog", steps=6, sampler="Euler")))
    assert not np.array_equal(pixels(image), plain_cat) and not np.array_equal(pixels(image), plain_dog)


def test_edits_past_the_ends_equal_the_plain_prompts(engine, make_request, sd1_file):
    run = lambda prompt: pixels(engine.generate(make_request(sd1_file, prompt=prompt, steps=4)))  # noqa: E731
    assert np.array_equal(run("[cat:dog:4]"), run("cat"))  # `when` at the last step: `cat` throughout
    assert np.array_equal(run("[cat:dog:0]"), run("dog"))
    assert np.array_equal(run("[cat|cat]"), run("cat"))
    assert not np.array_equal(run("[cat|dog]"), run("cat"))


def test_alternation_alternates_every_call(engine, make_request, sd1_file):
    cat, _ = _states_per_call(engine, make_request(sd1_file, prompt="cat", steps=5, sampler="Euler"))
    dog, _ = _states_per_call(engine, make_request(sd1_file, prompt="dog", steps=5, sampler="Euler"))
    alternating, _ = _states_per_call(engine, make_request(sd1_file, prompt="[cat|dog]", steps=5, sampler="Euler"))
    # schedule [[1, cat], [2, dog], [3, cat], …]; call i takes the first span with until ≥ i
    assert [torch.equal(s, cat[0]) for s in alternating] == [True, True, False, True, False]
    assert [torch.equal(s, dog[0]) for s in alternating] == [False, False, True, False, True]


def test_negative_prompts_are_scheduled_too(engine, make_request, sd1_file):
    states, _ = _states_per_call(engine, make_request(sd1_file, prompt="cat", negative="[blurry:ugly:1]", steps=3, sampler="Euler"))
    assert torch.equal(states[0], states[1]) and not torch.equal(states[1][:1], states[2][:1])
    assert torch.equal(states[1][1:], states[2][1:])


def test_and_composes_as_a1111(engine, make_request, sd1_file):
    """uncond + cfg·Σ wₖ(condₖ − uncond): one part of weight w is guidance scaled by w; a part of weight 0 adds nothing."""
    run = lambda prompt, cfg=7.0: pixels(engine.generate(make_request(sd1_file, prompt=prompt, cfg=cfg, steps=3)))  # noqa: E731
    cat = run("cat")
    assert np.abs(run("cat AND dog :0") - cat).max() <= 2  # batch of 3 instead of 2: float noise only
    assert np.abs(run("cat :0.5") - run("cat", cfg=3.5)).max() <= 2
    assert np.abs(run("cat AND dog") - cat).max() > 8
    with pytest.raises(EngineError, match="need cfg above 1"):
        engine.generate(make_request(sd1_file, prompt="cat AND dog", cfg=1.0))


def test_and_and_edits_on_sdxl(engine, make_request, sdxl_file):
    run = lambda prompt: pixels(engine.generate(make_request(sdxl_file, prompt=prompt, steps=3)))  # noqa: E731
    cat = run("cat")
    assert np.array_equal(run("[cat:dog:3]"), cat)
    assert not np.array_equal(run("[cat:dog:1]"), cat)
    assert np.abs(run("cat AND dog :0") - cat).max() <= 2
    assert np.abs(run("cat AND dog") - cat).max() > 8


def test_lora_tags_are_not_encoded_and_stay_in_the_infotext(engine, make_request, sd1_file):
    from comicforge.engines.diffusion.metadata import parse_parameters

    tagged = engine.generate(make_request(sd1_file, prompt="a cat <lora:hero:0.8> on a roof"))
    assert np.array_equal(pixels(tagged), pixels(engine.generate(make_request(sd1_file, prompt="a cat  on a roof"))))
    assert parse_parameters(tagged.info["parameters"])["Prompt"] == "a cat <lora:hero:0.8> on a roof"
