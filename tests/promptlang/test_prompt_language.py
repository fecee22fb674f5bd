"""The A1111 prompt language without torch: editing, alternation, AND, LoRA tags, CLIP token counts, `comicforge prompt`."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from comicforge.cli import main
from comicforge.promptlang.attention import parse_attention
from comicforge.promptlang.clip_tokens import clip_tokenizer
from comicforge.promptlang.compose import split_and
from comicforge.promptlang.networks import scan_tags, strip_tags
from comicforge.promptlang.schedule import prompt_schedule, span_at
from support import DATA, REPO

# A1111's documented cases (the doctests of modules/prompt_parser.py's get_learned_conditioning_prompt_schedules), 10 steps.
A1111_SCHEDULES = [
    ("test", [[10, "test"]]),
    ("a [b:3]", [[3, "a "], [10, "a b"]]),
    ("a [b: 3]", [[3, "a "], [10, "a b"]]),
    ("a [[[b]]:2]", [[2, "a "], [10, "a [[b]]"]]),
    ("[(a:2):3]", [[3, ""], [10, "(a:2)"]]),
    ("a [b : c : 1] d", [[1, "a b  d"], [10, "a  c  d"]]),
    ("a[b:[c:d:2]:1]e", [[1, "abe"], [2, "ace"], [10, "ade"]]),
    ("a [unbalanced", [[10, "a [unbalanced"]]),
    ("a [b:.5] c", [[5, "a  c"], [10, "a b c"]]),
    # A1111 marks this doctest "not handling this right now"; its grammar reads no `|` outside alternation, so its
    # parser returns the whole text (checked against the parser itself, like tests/data/a1111_prompt_cases.json).
    ("a [{b|d{:.5] c", [[10, "a [{b|d{:.5] c"]]),
    ("((a][:b:c [d:3]", [[3, "((a][:b:c "], [10, "((a][:b:c d"]]),
    ("[a|(b:1.1)]", [[s, "a" if s % 2 else "(b:1.1)"] for s in range(1, 11)]),
    ("[fe|]male", [[s, "female" if s % 2 else "male"] for s in range(1, 11)]),
    ("[fe|||]male", [[s, "female" if s % 4 == 1 else "male"] for s in range(1, 11)]),
]

# A1111's documented attention cases (parse_prompt_attention's doctests).
A1111_ATTENTION = [
    ("normal text", [["normal text", 1.0]]),
    ("an (important) word", [["an ", 1.0], ["important", 1.1], [" word", 1.0]]),
    ("(unbalanced", [["unbalanced", 1.1]]),
    ("\\(literal\\]", [["(literal]", 1.0]]),
    ("(unnecessary)(parens)", [["unnecessaryparens", 1.1]]),
    ("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", [
        ["a ", 1.0], ["house", 1.5730000000000004], [" ", 1.1], ["on", 1.0], [" a ", 1.1], ["hill", 0.55],
        [", sun, ", 1.1], ["sky", 1.4641000000000006], [".", 1.1],
    ]),
]

WILD = json.loads((DATA / "a1111_prompt_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("prompt", "expected"), A1111_SCHEDULES)
def test_a1111_documented_schedules(prompt, expected):
    assert [[span.until, span.text] for span in prompt_schedule(prompt, 10)] == expected


@pytest.mark.parametrize(("prompt", "expected"), A1111_ATTENTION)
def test_a1111_documented_attention(prompt, expected):
    assert [[f.text, f.weight] for f in parse_attention(prompt)] == expected


def test_a1111_header_example_at_100_steps():
    prompt = ("fantasy landscape with a [mountain:lake:0.25] and [an oak:a christmas tree:0.75][ in foreground::0.6]"
              "[ in background:0.25] [shoddy:masterful:0.5]")
    assert [(s.until, s.text) for s in prompt_schedule(prompt, 100)] == [
        (25, "fantasy landscape with a mountain and an oak in foreground shoddy"),
        (50, "fantasy landscape with a lake and an oak in foreground in background shoddy"),
        (60, "fantasy landscape with a lake and an oak in foreground in background masterful"),
        (75, "fantasy landscape with a lake and an oak in background masterful"),
        (100, "fantasy landscape with a lake and a christmas tree in background masterful"),
    ]


def test_when_with_a_point_is_a_fraction_and_without_one_a_step():
    assert [s.until for s in prompt_schedule("[a:b:2.0]", 10)] == [10]  # 2.0 × 10 steps, past the end
    assert [s.until for s in prompt_schedule("[a:b:2]", 10)] == [2, 10]
    assert [s.text for s in prompt_schedule("[a:b:0]", 10)] == ["b"]  # step 0: `b` throughout
    assert [s.text for s in prompt_schedule("[a:b:-3]", 10)] == ["b"]
    assert [(s.until, s.text) for s in prompt_schedule("[a:b:1e1]", 10)] == [(10, "a")]
    assert [s.until for s in prompt_schedule("[a:b:1e400]", 10)] == [10]  # no overflow


def test_a_pipe_outside_brackets_or_a_lone_backslash_leaves_the_prompt_as_text():
    assert [(s.until, s.text) for s in prompt_schedule("hello | world [a:b:3]", 10)] == [(10, "hello | world [a:b:3]")]
    assert [(s.until, s.text) for s in prompt_schedule("[a:b:3] \\", 10)] == [(10, "[a:b:3] \\")]


def test_brackets_nested_thousands_deep_are_text():
    prompt = "[" * 5000 + "a:b:1" + "]" * 5000
    assert prompt_schedule(prompt, 4) == prompt_schedule(prompt, 4)[:1] and prompt_schedule(prompt, 4)[0].text == prompt
    assert [s.text for s in prompt_schedule("[" * 50 + "a:b:1" + "]" * 50, 4)] == ["[" * 49 + "a" + "]" * 49, "[" * 49 + "b" + "]" * 49]


def test_a_step_counted_from_zero_takes_the_first_span_it_has_not_passed():
    schedule = prompt_schedule("a [b:3]", 10)
    assert [span_at(schedule, i).text for i in range(10)] == ["a "] * 4 + ["a b"] * 6


def test_any_text_gives_a_schedule_ending_at_the_last_step():
    rng = random.Random(13)
    alphabet = ["a", " ", "[", "]", "(", ")", ":", "|", "3", ".5", "\\", "-", "e"]
    for _ in range(2000):
        prompt = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        schedule = prompt_schedule(prompt, 7)
        assert schedule[-1].until == 7 and [s.until for s in schedule] == sorted({s.until for s in schedule})


def test_and_splits_with_trailing_weights():
    parts = split_and("a castle, sunset AND a red dragon :0.8 AND clouds:0.3")
    assert parts == [("a castle, sunset", 1.0), (" a red dragon", 0.8), (" clouds", 0.3)]
    assert split_and("(cat:1.2)") == [("(cat:1.2)", 1.0)]
    assert split_and("ANDROID AND") == [("ANDROID", 1.0), ("", 1.0)]


def test_lora_tags():
    scan = scan_tags("a <lora:mira:0.7>, b <lora:ink style:0.8:0.5> <lora:plain> <lora:named:te=0.2:unet=0.9>")
    assert [(t.name, t.text_weight, t.unet_weight) for t in scan.loras] == [
        ("mira", 0.7, 0.7), ("ink style", 0.8, 0.5), ("plain", 1.0, 1.0), ("named", 0.2, 0.9)]
    assert scan.text == "a , b   " and not scan.problems
    assert strip_tags("x <hypernet:h:1> y") == "x  y"
    problems = scan_tags("<lyco:a:1> <hypernet:b> <lora::1> <lora:a:1:2:3> <lora:a:dyn=4> <lora:a:nan> <what:x>").problems
    assert [p.split(": ", 1)[1] for p in problems] == [
        "LyCORIS networks (<lyco:…>) are not supported; a LoRA/LoCon file works as <lora:NAME:W>",
        "hypernetworks (<hypernet:…>) are not supported",
        "no LoRA name (write <lora:NAME:WEIGHT>)",
        "too many values (write <lora:NAME:WEIGHT> or <lora:NAME:TEXT_WEIGHT:UNET_WEIGHT>)",
        "unknown setting dyn= (valid: te=, unet=)",
        "weight nan must be -4 to 4",
        "unknown network kind 'what' (supported: lora)",
    ]


def _report(capsys, *args: str) -> dict:
    assert main(["prompt", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("case", WILD, ids=[str(i) for i in range(len(WILD))])
def test_prompt_command_agrees_with_a1111(capsys, case):
    """Schedules, attention, AND weights and LoRA tags as A1111's parser gives them (tests/data/a1111_prompt_cases.json)."""
    report = _report(capsys, case["prompt"], "--steps", str(case["steps"]))
    parts = [{"weight": report["weight"], "schedule": report["schedule"]}, *report.get("and", [])]
    assert [[{k: s[k] for k in ("until", "text", "attention")} for s in p["schedule"]] for p in parts] == [p["schedule"] for p in case["parts"]]
    assert [p["weight"] for p in parts] == [p["weight"] for p in case["parts"]]
    assert report["loras"] == case["loras"]
    assert all("<lora:" not in s["text"] for p in parts for s in p["schedule"])


def test_prompt_command_chunks(capsys):
    long = ", ".join(f"word{i}" for i in range(40)) + " BREAK tail"
    report = _report(capsys, long, "--steps", "4")
    chunks = report["schedule"][0]["chunks"]
    assert [c["ends"] for c in chunks] == ["comma", "break", "end"]
    assert sum(c["tokens"] for c in chunks[:2]) == len(clip_tokenizer().encode(long.split(" BREAK")[0]))
    assert all(c["tokens"] <= 75 for c in chunks) and chunks[2] == {"tokens": 1, "text": "tail", "ends": "end"}
    assert ["BREAK", -1] in report["schedule"][0]["attention"]


def test_prompt_command_errors(capsys):
    assert main(["prompt", "a <lyco:x:1>"]) == 2
    assert "not supported" in capsys.readouterr().err
    assert main(["prompt"]) == 2
    assert "give a prompt TEXT, --project and --panel, or both" in capsys.readouterr().err


def test_prompt_command_needs_no_torch():
    code = ("import sys; from comicforge.cli import main; main(['prompt', 'a [b:c:3] <lora:x:1>', '--json']); "
            "assert not {'torch', 'transformers', 'numpy', 'PIL'} & set(sys.modules), sorted(sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["loras"] == [{"name": "x", "weight": 1.0}]


def test_prompt_command_for_a_panel(small_project, capsys):
    """The panel's rendered prompt (character tokens filled in), its steps, and its LoRA tags found in the project."""
    (small_project / "loras").mkdir()
    (small_project / "loras" / "ink.safetensors").write_bytes(_tiny_lora_header())
    text = (small_project / "comic.yaml").read_text()
    (small_project / "comic.yaml").write_text(text.replace('"{{ mira }} on a rooftop"', '"{{ mira }} on a [roof:ledge:0.5] <lora:ink:0.6>"'))
    report = _report(capsys, "--project", str(small_project), "--panel", "p1.1", "--steps", "10")
    assert [(s["until"], s["text"]) for s in report["schedule"]] == [(5, "mira_cf, silver hair on a roof"), (10, "mira_cf, silver hair on a ledge")]
    assert report["loras"] == [{"name": "ink", "weight": 0.6}]
    report = _report(capsys, "[{{ ren }}|{{ mira }}] in the rain", "--project", str(small_project), "--panel", "p1.1", "--steps", "2")
    assert [s["text"] for s in report["schedule"]] == ["ren_cf, black coat in the rain", "mira_cf, silver hair in the rain"]
    report = _report(capsys, "{{ mira }} waves, {{ ren }} frowns, a roof", "--project", str(small_project), "--panel", "p1.3")
    assert [s["text"] for s in report["scene"]["schedule"]] == ["a roof"]
    assert [(r["who"], r["schedule"][0]["text"]) for r in report["regions"]] == [
        ("mira", "mira_cf, silver hair waves, a roof"), ("ren", "ren_cf, black coat frowns, a roof")]
    mira, ren = (r["box"] for r in report["regions"])
    assert len(mira) == 4 and mira[0] < ren[0]  # around each placed figure, mira on the left
    assert main(["prompt", "--project", str(small_project), "--panel", "p1.3"]) == 0
    assert f"mira's region {mira}: prompt (25 steps):" in capsys.readouterr().out
    assert main(["prompt", "--project", str(small_project), "--panel", "p9.9"]) == 2
    assert "no panel 'p9.9'" in capsys.readouterr().err


def _tiny_lora_header() -> bytes:
    """A safetensors file with one kohya LoRA key (header and zero bytes), enough for the torch-free checks."""
    header = json.dumps({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": {"dtype": "F32", "shape": [4, 8], "data_offsets": [0, 128]}})
    header += " " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header.encode() + bytes(128)


WILD_TEXTS = [
    "masterpiece, best quality, 1girl, solo, (silver hair:1.2), looking at viewer, night city, neon lights",
    "café naïve résumé — “quotes” 日本語 テスト 😀 x², ½, don't we'll it's, İstanbul ß ﬁ",
    "score_9, score_8_up, source_anime, rating_safe, &amp; &lt;tag&gt; __under__ 12345 3.14 1e10 -5",
    "a   b\n\nc\t d UPPER Case MiXeD <|endoftext|> hi !'s x'S",
]


@pytest.mark.parametrize("text", WILD_TEXTS)
def test_clip_tokens_match_transformers(text):
    from transformers import CLIPTokenizer

    reference = CLIPTokenizer.from_pretrained(str(REPO / "comicforge" / "data" / "diffusion" / "tokenizer"))
    assert clip_tokenizer().encode(text) == reference(text, add_special_tokens=False).input_ids
