import struct

import numpy as np
import pytest
import torch

import diffusion_tiny as tiny
from comicforge.spec.files import AdapterRef, FileRef
from comicforge.weights.checkpoint import detect_model
from comicforge.weights.lora import check_lora
from comicforge.errors import EngineError
from support import DATA

R = 4


def kohya_sd15_lora(seed=0, unet_width=None):
    """A kohya LoRA with every key of tests/data/lora_kohya_sd15_keys.txt, rank R, tiny widths."""
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for line in (DATA / "lora_kohya_sd15_keys.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape = line.split("\t")
        dims = [d for d in shape.strip("[]").split(",") if d]
        m = tiny.SD1_MAPS["clip_l" if key.startswith("lora_te_") else "diffuser"]
        if unet_width and key.startswith("lora_unet_") and "attn2_to_k.lora_down" in key:
            m = {**m, 768: unet_width}
        real = tuple(R if d == "R" else m.get(int(d), int(d)) for d in dims)
        if key.endswith(".alpha"):
            sd[key] = torch.tensor(float(R))
        else:
            sd[key] = torch.randn(real, generator=gen) * 0.3
    return sd


def peft_sd15_lora(seed=1):
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for block, width in (("down_blocks.0.attentions.0", 32), ("up_blocks.3.attentions.2", 32), ("mid_block.attentions.0", 128)):
        for proj in ("to_q", "to_v", "to_out.0"):
            base = f"unet.{block}.transformer_blocks.0.attn1.{proj}"
            sd[base + ".lora_A.weight"] = torch.randn(R, width, generator=gen) * 0.3
            sd[base + ".lora_B.weight"] = torch.randn(width, R, generator=gen) * 0.3
    return sd


def lora_ref(path, weight=1.0):
    return AdapterRef(FileRef(str(path), "fp-" + path.name), weight)


@pytest.fixture(scope="module")
def kohya_file(tmp_path_factory):
    return tiny.save(kohya_sd15_lora(), tmp_path_factory.mktemp("lora") / "hero.safetensors")


@pytest.fixture(scope="module")
def peft_file(tmp_path_factory):
    return tiny.save(peft_sd15_lora(), tmp_path_factory.mktemp("lora") / "villain.safetensors")


def px(img):
    return np.asarray(img)


def test_kohya_and_peft_loras_change_output_and_switch_without_reload(engine, make_request, sd1_file, kohya_file, peft_file):
    base = px(engine.generate(make_request(sd1_file)))
    pipe = engine._models["fp-" + sd1_file.name].pipe
    hero = px(engine.generate(make_request(sd1_file, loras=(lora_ref(kohya_file),))))
    both = px(engine.generate(make_request(sd1_file, loras=(lora_ref(kohya_file, 0.7), lora_ref(peft_file, 1.0)))))
    villain = px(engine.generate(make_request(sd1_file, loras=(lora_ref(peft_file),))))
    again = px(engine.generate(make_request(sd1_file)))
    assert engine._models["fp-" + sd1_file.name].pipe is pipe  # base model never reloaded
    assert not np.array_equal(base, hero) and not np.array_equal(base, villain) and not np.array_equal(hero, both)
    assert np.array_equal(base, again)


def test_lora_weight_zero_equals_no_lora(engine, make_request, sd1_file, kohya_file):
    base = px(engine.generate(make_request(sd1_file)))
    zero = px(engine.generate(make_request(sd1_file, loras=(lora_ref(kohya_file, 0.0),))))
    assert np.array_equal(base, zero)


def test_lora_metadata(engine, make_request, sd1_file, kohya_file):
    from comicforge.engines.diffusion.metadata import parse_parameters

    img = engine.generate(make_request(sd1_file, loras=(lora_ref(kohya_file, 0.8),)))
    params = parse_parameters(img.info["parameters"])
    assert params["Prompt"].endswith("<lora:hero:0.8>")
    assert params["Lora hashes"].startswith("hero: ")


def test_sdxl_lora_on_sd15_is_refused_before_loading(sd1_file, tmp_path):
    path = tiny.save(kohya_sd15_lora(unet_width=2048), tmp_path / "xl-style.safetensors")
    with pytest.raises(EngineError, match="LoRA is for SDXL but the model .* is SD 1.x") as e:
        check_lora(path, detect_model(sd1_file).__class__(**{**detect_model(sd1_file).__dict__, "context_dim": 768}))
    assert "xl-style.safetensors" in str(e.value)


def test_family_mismatch_with_tiny_widths(engine, make_request, sd1_file, tmp_path):
    path = tiny.save(kohya_sd15_lora(unet_width=96), tmp_path / "other.safetensors")
    with pytest.raises(EngineError, match="other.safetensors: LoRA is for a model with cross-attention width 96"):
        engine.generate(make_request(sd1_file, loras=(lora_ref(path),)))


@pytest.mark.parametrize(
    "keys, message",
    [
        ({"lora_unet_down_blocks_0_attentions_0_proj_in.hada_w1_a": (4, 4)}, "LyCORIS LoHa files are not supported"),
        ({"lora_unet_down_blocks_0_attentions_0_proj_in.lokr_w1": (4, 4)}, "LyCORIS LoKr files are not supported"),
        ({"lora_unet_nonexistent_layer.lora_down.weight": (4, 8)}, "none of the LoRA's 1 keys match"),
        ({"model.weird.weight": (4, 8)}, "LoRA keys match nothing"),
    ],
)
def test_bad_lora_files(sd1_file, tmp_path, keys, message):
    path = tiny.save({k: torch.zeros(s) for k, s in keys.items()}, tmp_path / "bad.safetensors")
    with pytest.raises(EngineError, match=message) as e:
        check_lora(path, detect_model(sd1_file))
    assert "bad.safetensors" in str(e.value)


def test_corrupt_and_truncated_lora(sd1_file, kohya_file, tmp_path):
    info = detect_model(sd1_file)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(kohya_file.read_bytes()[:-100])
    with pytest.raises(EngineError, match="cut.safetensors: truncated"):
        check_lora(cut, info)
    bad = tmp_path / "junk.safetensors"
    bad.write_bytes(struct.pack("<Q", 5) + b"nope!")
    with pytest.raises(EngineError, match="junk.safetensors: corrupt"):
        check_lora(bad, info)


def test_unmatched_keys_fail_at_generate_too(engine, make_request, sd1_file, tmp_path):
    path = tiny.save({"lora_unet_nonexistent_layer.lora_down.weight": torch.zeros(4, 8)}, tmp_path / "none.safetensors")
    with pytest.raises(EngineError, match="none.safetensors"):
        engine.generate(make_request(sd1_file, loras=(lora_ref(path),)))


def test_textual_inversion_embedding(engine, make_request, sd1_file, tmp_path):
    emb = tmp_path / "mychar.pt"
    torch.save({"string_to_param": {"*": torch.randn(2, 64, generator=torch.Generator().manual_seed(3))}}, emb)
    prompt = "a photo of mychar on a roof"
    plain = px(engine.generate(make_request(sd1_file, prompt=prompt)))
    with_emb = engine.generate(make_request(sd1_file, prompt=prompt, embeddings=(FileRef(str(emb), "fp-emb"),)))
    assert not np.array_equal(plain, px(with_emb))
    assert "TI hashes" in with_emb.info["parameters"]
    wrong = tmp_path / "wide.safetensors"
    tiny.save({"emb_params": torch.zeros(1, 768)}, wrong)
    with pytest.raises(EngineError, match="wide.safetensors: embedding is for text encoder width"):
        engine.generate(make_request(sd1_file, prompt=prompt, embeddings=(FileRef(str(wrong), "fp-wide"),)))


def test_separate_text_encoder_and_unet_weights(engine, make_request, sd1_file, kohya_file):
    """`<lora:NAME:TE:UNET>`: the UNet's weight and the text encoder's apply separately."""
    ref = lora_ref(kohya_file).file
    both = px(engine.generate(make_request(sd1_file, loras=(AdapterRef(ref, 1.0),))))
    unet_only = px(engine.generate(make_request(sd1_file, loras=(AdapterRef(ref, 1.0, text_weight=0.0),))))
    text_only = px(engine.generate(make_request(sd1_file, loras=(AdapterRef(ref, 0.0, text_weight=1.0),))))
    none = px(engine.generate(make_request(sd1_file)))
    assert len({a.tobytes() for a in (both, unet_only, text_only, none)}) == 4
