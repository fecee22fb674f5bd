"""Japanese and Chinese line breaking: break between any two characters unless kinsoku forbids it (JIS X 4051, JLReq).

Forbidden breaks are resolved by pushing out (oidashi): a character that may not start a line (or column) takes the
one before it along to the next, and one that may not end a line goes with the one after. Nothing hangs outside
the column, so a balloon's text block is exactly the box its ellipse is fitted round.
"""

from __future__ import annotations

import unicodedata

# JLReq cl-02 closing brackets, cl-04 hyphens, cl-05/06/07 dividing, middle dots, full stops and commas, cl-09 iteration
# marks, cl-10 prolonged sound mark, cl-11 small kana: none of them may begin a line
NO_START = frozenset(
    "）」』］｝〕〉》】〙〗〟)]}’”»"
    "‐〜～゠–"
    "！？!?‼⁇⁈⁉・：；:;、。，．,."
    "ヽヾゝゞ々〻ー"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
    "…‥"
)
NO_END = frozenset("（「『［｛〔〈《【〘〖〝([{‘“«")  # JLReq cl-01 opening brackets may not end a line
INSEPARABLE = frozenset("…‥—―")  # JLReq cl-08: a pair of these is never split


def is_wide(char: str) -> bool:
    """A character set on the full-width em grid of CJK text (ideographs, kana, full-width forms and punctuation)."""
    return unicodedata.east_asian_width(char) in "WF" or char in INSEPARABLE


def may_break(before: str, after: str) -> bool:
    """Whether a line may break between two characters of one word (spaces are breaks already)."""
    if not (is_wide(before) or is_wide(after)):
        return False  # inside a Latin word or a number
    if after in NO_START or before in NO_END:
        return False
    return not (before == after and before in INSEPARABLE)


def break_points(text: str) -> list[int]:
    """Indexes inside a word (no spaces) where a line may break."""
    return [i for i in range(1, len(text)) if may_break(text[i - 1], text[i])]
