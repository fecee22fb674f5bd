import pytest

from comicforge.engines.diffusion.prompts import (
    BREAK,
    CHUNK,
    Fragment,
    TokenIds,
    chunk_ids,
    chunk_prompt,
    parse_attention,
)


def pairs(prompt):
    return [(f.text, round(f.weight, 4)) for f in parse_attention(prompt)]


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("a cat", [("a cat", 1.0)]),
        ("a (cat) sits", [("a ", 1.0), ("cat", 1.1), (" sits", 1.0)]),
        ("((cat))", [("cat", 1.21)]),
        ("(cat:1.3), dog", [("cat", 1.3), (", dog", 1.0)]),
        ("[cat]", [("cat", round(1 / 1.1, 4))]),
        ("(a [b] c:1.5)", [("a ", 1.5), ("b", round(1.5 / 1.1, 4)), (" c", 1.5)]),
        (r"\(cat\) \[x\]", [("(cat) [x]", 1.0)]),
        ("(unclosed cat", [("unclosed cat", 1.1)]),
        ("a BREAK b", [("a", 1.0), (BREAK, -1.0), ("b", 1.0)]),
        ("", [("", 1.0)]),
        ("ratio 16:9", [("ratio 16:9", 1.0)]),
    ],
)
def test_attention_syntax(prompt, expected):
    assert pairs(prompt) == expected


IDS = TokenIds(bos=1000, eos=1001, pad=0, comma=5)


def words(text):
    return [5 if w == "," else 10 + len(w) for w in text.replace(",", " , ").split()]


def test_short_prompt_is_one_padded_chunk():
    chunks = chunk_prompt(parse_attention("a b c"), words, IDS)
    assert len(chunks) == 1
    tokens, weights = chunk_ids(chunks[0], IDS)
    assert len(tokens) == 77 and tokens[:5] == [1000, 11, 11, 11, 1001] and tokens[5:] == [0] * 72
    assert weights == [1.0] * 77


def test_long_prompt_splits_into_75_token_chunks():
    chunks = chunk_prompt(parse_attention(" ".join(["w"] * 160)), words, IDS)
    assert [len(c.tokens) for c in chunks] == [75, 75, 10]


def test_break_starts_a_new_chunk_and_weights_follow():
    chunks = chunk_prompt(parse_attention("(a:1.5) BREAK b"), words, IDS)
    assert [c.tokens for c in chunks] == [[11], [11]]
    assert chunks[0].weights == [1.5] and chunks[1].weights == [1.0]


def test_overflow_backtracks_to_last_comma():
    text = " ".join(["w"] * 70) + " , " + " ".join(["x"] * 10)
    chunks = chunk_prompt(parse_attention(text), words, IDS)
    assert len(chunks[0].tokens) == 71 and chunks[0].tokens[-1] == 5
    assert len(chunks[1].tokens) == 10


def test_embedding_token_is_spliced_and_never_straddles_chunks():
    text = " ".join(["w"] * 74) + " MyChar"
    chunks = chunk_prompt(parse_attention(text), words, IDS, {"mychar": 3})
    assert len(chunks) == 2 and chunks[1].splices == [(0, "mychar", 0), (1, "mychar", 1), (2, "mychar", 2)]
    assert len(chunks[1].tokens) == 3 and CHUNK == 75


def test_fragment_break_marker():
    assert Fragment(BREAK, -1).is_break and not Fragment(BREAK, 1.0).is_break
