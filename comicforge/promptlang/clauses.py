"""A prompt's clauses: the text between top-level commas and BREAKs, so one character's part can be picked out.

Commas inside `( )`, `[ ]`, `< >` (weights, prompt editing, network tags) and escaped brackets do not split, so
`(red scarf, silver hair:1.2)` stays one clause and keeps its weight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN, _CLOSE = "([<", ")]>"
_BREAK = re.compile(r"\bBREAK\b")


@dataclass(frozen=True)
class Clause:
    """One clause's text and the separator after it ("," or " BREAK", "" at the end)."""

    text: str
    separator: str


def split_clauses(prompt: str) -> list[Clause]:
    """The prompt's clauses in order; joining each text with its separator gives the prompt back (spaces trimmed)."""
    clauses, depth, start, i = [], 0, 0, 0
    while i < len(prompt):
        char = prompt[i]
        if char == "\\":
            i += 2
            continue
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and char == ",":
            clauses.append(Clause(prompt[start:i].strip(), ","))
            start = i + 1
        elif depth == 0 and char == "B" and _BREAK.match(prompt, i) and (i == 0 or not prompt[i - 1].isalnum()):
            clauses.append(Clause(prompt[start:i].strip(), " BREAK"))
            start = i + len("BREAK")
            i = start
            continue
        i += 1
    clauses.append(Clause(prompt[start:].strip(), ""))
    return [clause for clause in clauses if clause.text or clause.separator == " BREAK"]


def join_clauses(clauses: list[Clause]) -> str:
    """Clauses back into a prompt: `a, b BREAK c` (a trailing separator and empty clauses at either end dropped)."""
    while clauses and not clauses[-1].text:
        clauses = clauses[:-1]
    while clauses and not clauses[0].text:
        clauses = clauses[1:]
    text = ""
    for i, clause in enumerate(clauses):
        text += clause.text
        if i < len(clauses) - 1:
            text += ", " if clause.separator == "," else f"{clause.separator} "
    return text.strip()
