"""The spec codec: JSON forms round-trip to equal frozen values, and equal what job keys hash."""

from __future__ import annotations

import json
import subprocess
import sys

from comicforge.pipeline.keys import plain
from comicforge.spec.codec import decode, encode
from comicforge.spec.files import AdapterRef, FileRef
from comicforge.spec.poses import PlacedPose
from comicforge.spec.requests import CharacterLook, ControlInput, Edit, GenerateRequest, Img2Img, Inpaint, Outpaint, Upscale

BODY = ((0.5, 0.1), (0.5, 0.2), None, *((0.4, 0.3),) * 15)
REQUEST = GenerateRequest(
    "p1.1", "mira_cf running", "lowres", 1234, 512, 768, model=FileRef("/models/a.safetensors", "fp-a"),
    loras=(AdapterRef(FileRef("/loras/mira.safetensors", "fp-m"), 0.8),), embeddings=(FileRef("/emb/bad.pt", "fp-e"),),
    characters=(CharacterLook("mira", ("#c0392b", "#f5d0a9")),), poses=(PlacedPose(BODY, "mira", ((0.2, 0.2), None)),),
    controls=(ControlInput("lineart", None, 0.7, 0.0, 0.8, FileRef("/s.png", "fp-s")),), options=(("precision", "fp16"),),
)
STEP = Inpaint(strength=0.4, rects=((0.1, 0.2, 0.3, 0.4),), mask=FileRef("/mask.png", "fp-k"), seed=7)


def _through_json(value: object) -> object:
    """A value's JSON form as a job spec stores it (dumped and loaded again)."""
    return json.loads(json.dumps(plain(value)))


def test_requests_and_steps_round_trip_through_json() -> None:
    assert decode(GenerateRequest, {**_through_json(REQUEST), "post": []}) == REQUEST
    assert decode(Inpaint, _through_json(STEP)) == STEP
    assert decode(PlacedPose, _through_json(REQUEST.poses[0])) == REQUEST.poses[0]


def test_edits_decode_to_the_type_their_op_names() -> None:
    from pydantic import TypeAdapter

    edits = [Img2Img(strength=0.3, init=FileRef("/i.png", "fp-i")), STEP, Outpaint(extend=(0.1, 0, 0.1, 0), width=64, height=32),
             Upscale(width=512, height=768, model=FileRef("/x.pth", "fp-x"))]
    union = TypeAdapter(Edit)
    assert [union.validate_python(_through_json(edit)) for edit in edits] == edits
    assert [type(union.validate_python({"op": edit.op})) for edit in edits] == [type(edit) for edit in edits]


def test_encoding_is_the_form_job_keys_hash() -> None:
    assert encode(REQUEST) == plain(REQUEST)
    assert encode(STEP) == plain(STEP)


def test_decoded_values_are_hashable_tuples() -> None:
    decoded = decode(GenerateRequest, _through_json(REQUEST))
    assert isinstance(decoded.poses[0].body, tuple) and isinstance(decoded.poses[0].body[0], tuple)
    assert hash(decoded) == hash(REQUEST)


def test_spec_imports_no_pydantic_until_a_value_is_decoded() -> None:
    code = ("import sys; import comicforge.spec.codec, comicforge.spec.requests, comicforge.spec.samplers; "
            "bad = [m for m in ('pydantic', 'numpy', 'PIL', 'torch') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
