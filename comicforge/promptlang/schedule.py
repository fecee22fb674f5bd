"""A1111 prompt editing and alternation: `[to:when]`, `[from::when]`, `[from:to:when]`, `[a|b|c]` → a schedule.

The behaviour is A1111's (`modules/prompt_parser.py`, the default "new" scheduling): `when` with a decimal point
is a fraction of the steps, without one a step; `[a|b]` switches every step; brackets that do not form one of
these at the top level of the prompt are kept as text, and a prompt that cannot be read at all (a `|` outside
brackets, a lone trailing backslash) is one span of its whole text. Attention brackets are left in the text for
the attention parser; only editing and alternation are replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER_END = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))\s*\]")
_PLAIN = re.compile(r"(?:[^\\\[\]():|]|\\.)+")
_STRAY = "[]():"  # characters the top level keeps as text when they do not open or close a construct


@dataclass(frozen=True)
class Edit:
    """`[before:after:when]`: `before` up to step `when`, `after` from the next step (`before` None: nothing)."""

    before: tuple[Node, ...] | None
    after: tuple[Node, ...]
    when: str  # the number as written: a fraction of the steps when it has a decimal point


@dataclass(frozen=True)
class Alternation:
    """`[a|b|c]`: option (step - 1) mod n at each step."""

    options: tuple[tuple[Node, ...], ...]


Node = str | Edit | Alternation


@dataclass(frozen=True)
class Span:
    """The text in force up to and including step `until` (A1111's `end_at_step`)."""

    until: int
    text: str


class _Unreadable(Exception):
    """The text at this position is not a construct."""


class _Reader:
    """Recursive descent over one prompt; inside a construct every bracket must itself be a construct."""

    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def top(self) -> tuple[Node, ...]:
        """The whole prompt: constructs where they parse, stray brackets and colons as text."""
        nodes: list[Node] = []
        while self.pos < len(self.text):
            char = self.peek()
            if char in "([":
                start = self.pos
                try:
                    nodes.extend(self.construct())
                    continue
                except _Unreadable:
                    self.pos = start
            if char in _STRAY:
                nodes.append(char)
                self.pos += 1
            else:
                nodes.append(self.plain())
        return tuple(nodes)

    def plain(self) -> str:
        match = _PLAIN.match(self.text, self.pos)
        if match is None:
            raise _Unreadable  # a `|` out of brackets, a backslash escaping nothing
        self.pos = match.end()
        return match.group(0)

    def sequence(self) -> tuple[Node, ...]:
        """Text and constructs up to the next `:`, `|`, `)` or `]` of this level (not consumed)."""
        nodes: list[Node] = []
        while self.peek() and self.peek() not in ":|)]":
            if self.peek() in "([":
                nodes.extend(self.construct())
            else:
                nodes.append(self.plain())
        return tuple(nodes)

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise _Unreadable
        self.pos += 1

    def construct(self) -> tuple[Node, ...]:
        """`(…)`, `(…:…)` or `[…]` as text with their insides read; `[…:…]` an edit, `[…|…]` an alternation."""
        opening = self.peek()
        self.pos += 1
        first = self.sequence()
        if opening == "(":
            if self.peek() == ")":
                self.pos += 1
                return ("(", *first, ")")
            self.expect(":")
            second = self.sequence()
            self.expect(")")
            return ("(", *first, ":", *second, ")")
        if self.peek() == "]":
            self.pos += 1
            return ("[", *first, "]")
        if self.peek() == "|":
            options = [first]
            while self.peek() == "|":
                self.pos += 1
                options.append(self.sequence())
            self.expect("]")
            return (Alternation(tuple(options)),)
        self.expect(":")
        number = self.number_end()
        if number is not None:
            return (Edit(None, first, number),)
        second = self.sequence()
        self.expect(":")
        number = self.number_end()
        if number is None:
            raise _Unreadable
        return (Edit(first, second, number),)

    def number_end(self) -> str | None:
        """`when]` (spaces allowed round the number): the number, consuming the bracket."""
        match = _NUMBER_END.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group(1)


def parse_schedule(prompt: str) -> tuple[Node, ...] | None:
    """The prompt's text and constructs, or None when A1111 would read it as plain text throughout."""
    try:
        return _Reader(prompt).top()
    except _Unreadable:
        return None
    except RecursionError:  # brackets nested thousands deep: read as text rather than fail the panel
        return None


def edit_step(when: str, steps: int) -> int:
    """The last step of an edit's `before`: a fraction of the steps when written with a point, else a step."""
    value = float(when) * steps if "." in when else float(when)
    return steps if value >= steps else int(value)


def _boundaries(nodes: tuple[Node, ...], steps: int, found: set[int]) -> None:
    for node in nodes:
        if isinstance(node, Edit):
            step = edit_step(node.when, steps)
            if step >= 1:
                found.add(step)
            _boundaries(node.before or (), steps, found)
            _boundaries(node.after, steps, found)
        elif isinstance(node, Alternation):
            found.update(range(1, steps + 1))
            for option in node.options:
                _boundaries(option, steps, found)


def text_at(nodes: tuple[Node, ...], step: int, steps: int) -> str:
    """The prompt's text at one step (1-based, as the schedule counts)."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, Edit):
            chosen = (node.before or ()) if step <= edit_step(node.when, steps) else node.after
            parts.append(text_at(chosen, step, steps))
        else:
            parts.append(text_at(node.options[(step - 1) % len(node.options)], step, steps))
    return "".join(parts)


def prompt_schedule(prompt: str, steps: int) -> list[Span]:
    """The texts a prompt conditions on over `steps` steps, as A1111 schedules them."""
    nodes = parse_schedule(prompt)
    if nodes is None:
        return [Span(steps, prompt)]
    found = {steps}
    _boundaries(nodes, steps, found)
    return [Span(step, text_at(nodes, step, steps)) for step in sorted(found)]


def span_at(schedule: list[Span], index: int) -> Span:
    """The span in force at a sampler step counted from 0, as A1111's denoiser picks it (first `until` ≥ index)."""
    return next((span for span in schedule if index <= span.until), schedule[-1])
