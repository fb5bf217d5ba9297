"""Lessons: a teacher's walk through the app, as data.

A lesson is a title, a summary and steps (a page, a setup, link parameters, controls
to hide, a text, a question, whether to play). Parsing is bounded; each failure is one
``SpecError`` naming the step and the field.

Markdown form: ``# Title``, the summary, then per step ``## Step title``, its text
(``###`` headings and code blocks are fine), an optional line ``**Question:** ...`` and,
ending the step, a ```` ```json ```` block of its settings: ``page`` (required),
``setup``, ``params``, ``hide``, ``play``. JSON form: ``{"title", "summary", "steps":
[{"title", "page", "setup", "params", "hide", "text", "question", "play"}]}``; the
titles, ``steps`` and ``page`` are required. ``setup`` is null (the page's default), a
preset's name, or an object of what differs from a base, as links write it: the base
is the preset its ``"preset"`` key names, else ``Spec()``. ``params`` is an object of
text values (``{"race": "sgd:0.03,adam:0.003"}``), ``hide`` a list of names.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import SpecError
from engine.lesson_pages import PAGES, setup_problem
from engine.lesson_pages import show as _show
from engine.presets import PRESETS, preset
from engine.schema import check_object
from engine.spec import Spec
from engine.untrusted import parse_json

MAX_CHARS, MAX_STEPS = 200_000, 40  # a lesson's text (either form); its steps
MAX_TITLE, MAX_SUMMARY, MAX_TEXT, MAX_QUESTION = 120, 6_000, 6_000, 1_000  # characters
MAX_PARAMS, MAX_PARAM_CHARS, MAX_HIDE = 8, 2_000, 32

# The shipped lessons: 01_neurons.md is lesson "neurons"; the numbers give the order.
FILES = Path(__file__).resolve().parent / "data" / "files" / "lessons"

_PARAM_KEY = re.compile(r"[a-z][a-z0-9_]{0,19}")  # digits too: paths' x0, search's hp2
_HIDE = re.compile(r"[a-z0-9_^*()]{1,30}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_HEADING = re.compile(r"#{1,2}(?:[ \t]|$)")  # the lesson's title (#) or a step's (##)
_QUESTION, _FENCE = "**Question:**", "```"
_BLOCK_KEYS = ["page", "setup", "params", "hide", "play"]


@dataclass(frozen=True)
class Step:
    """One step. Construction normalises (text stripped, lists to tuples) and checks
    every field, raising ``SpecError`` naming it, so every ``Step`` reads back equal."""

    title: str
    page: str  # one of PAGES
    setup: Spec | None = None  # None: the page's own default
    params: tuple[tuple[str, str], ...] = ()  # the page's other link parameters
    hide: tuple[str, ...] = ()  # control or section names to hide
    text: str = ""  # plain Markdown
    question: str = ""  # one line; may be empty
    play: bool = False  # start playing when the step opens

    def __post_init__(self) -> None:
        put = functools.partial(object.__setattr__, self)
        put("title", _clean(self.title, "title", MAX_TITLE, one_line=True, required=True))
        if self.setup is not None and not isinstance(self.setup, Spec):
            raise SpecError("setup", f"got {_show(self.setup)}; expected a Spec or None")
        problem = setup_problem(self.page, self.setup)
        if problem:
            raise SpecError("setup", f"the {self.page} page cannot open it: {problem}")
        put("params", _pairs(self.params))
        put("hide", _names(self.hide))
        put("text", _prose(self.text, "text", MAX_TEXT))
        put("question", _clean(self.question, "question", MAX_QUESTION, one_line=True))
        if not isinstance(self.play, bool):
            raise SpecError("play", f"got {_show(self.play)}; expected true or false")

    def settings(self) -> dict[str, Any]:
        """Page, setup, params, hide and play as JSON (what differs from the defaults)."""
        setup = {} if self.setup is None else {"setup": _setup_value(self.setup)}
        out = {"page": self.page, **setup, "params": dict(self.params),
               "hide": list(self.hide), "play": self.play}
        return {k: v for k, v in out.items() if v or k in ("page", "setup")}


@dataclass(frozen=True)
class Lesson:
    """1 to ``MAX_STEPS`` steps; ``SpecError`` for a bad title, summary or steps."""

    title: str
    summary: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        put = functools.partial(object.__setattr__, self)
        put("title", _clean(self.title, "title", MAX_TITLE, one_line=True, required=True))
        put("summary", _prose(self.summary, "summary", MAX_SUMMARY))
        if not isinstance(self.steps, list | tuple) or \
                not all(isinstance(s, Step) for s in self.steps):
            raise SpecError("steps", "expected a list of Step values")
        _count(len(self.steps))
        put("steps", tuple(self.steps))

    def to_json(self) -> str:
        """The JSON form (``parse_lesson`` reads it back equal)."""
        steps = [{"title": s.title, **s.settings(), "text": s.text, "question": s.question}
                 for s in self.steps]
        lesson = {"title": self.title, "summary": self.summary, "steps": steps}
        return json.dumps(lesson, indent=2, ensure_ascii=False) + "\n"

    def to_markdown(self) -> str:
        """The Markdown form (``parse_lesson`` reads it back equal)."""
        parts = [f"# {self.title}", self.summary]
        for s in self.steps:
            block = json.dumps(s.settings(), ensure_ascii=False)
            if len(block) > 96:  # one setting a line
                block = "{" + ",\n ".join(json.dumps({k: v}, ensure_ascii=False)[1:-1]
                                          for k, v in s.settings().items()) + "}"
            parts += [f"## {s.title}", s.text, s.question and f"{_QUESTION} {s.question}",
                      f"{_FENCE}json\n{block}\n{_FENCE}"]
        return "\n\n".join(p for p in parts if p) + "\n"


def parse_lesson(text: str) -> Lesson:
    """A lesson from its JSON form (text starting ``{``) or Markdown form (``# Title``).
    Raises one ``SpecError``, naming the step and the field, for anything wrong."""
    if not isinstance(text, str):
        raise SpecError("", "a lesson must be text (JSON or Markdown)")
    if len(text) > MAX_CHARS:
        raise SpecError("", f"the lesson has {len(text):,} characters; at most {MAX_CHARS:,}")
    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("{"):
        return _from_json(body)
    if body.startswith("#"):
        return _from_markdown(body.replace("\r\n", "\n").replace("\r", "\n"))
    raise SpecError("", "a lesson is JSON (starting with {) or Markdown (starting with "
                        "'# Title'); this text is neither")


def lesson_names() -> list[str]:
    """The shipped lessons' names, in teaching order."""
    return list(_shipped())


def load_lesson(name: str) -> Lesson:
    """The shipped lesson ``name``, never a path; ``SpecError`` if not a shipped one."""
    if not isinstance(name, str) or name not in _shipped():
        raise SpecError("lesson", f"unknown lesson {_show(name)}; choose one of: "
                                  f"{', '.join(_shipped())}")
    return _load(name)


def _from_json(text: str) -> Lesson:
    d = check_object(parse_json(text, what="the lesson", max_chars=MAX_CHARS), "",
                     ["title", "summary", "steps"])
    steps = d.get("steps")
    if not isinstance(steps, list):
        raise SpecError("steps", f"got {_show(steps)}; expected a list of steps")
    _count(len(steps))
    out = []
    for n, step in enumerate(steps, 1):
        title = step.get("title") if isinstance(step, dict) else None
        with _at(n, title):
            step = check_object(step, "", ["title", "text", "question", *_BLOCK_KEYS])
            out.append(_step(title, step, step.get("text", ""), step.get("question", "")))
    return Lesson(d.get("title"), d.get("summary", ""), tuple(out))


def _from_markdown(text: str) -> Lesson:
    lines = text.split("\n")
    heads, inside, opened = [], False, 0  # heads: (line index, level) outside code blocks
    for i, line in enumerate(lines):
        if line.startswith(_FENCE):
            inside, opened = not inside, i
        elif not inside and _HEADING.match(line):
            heads.append((i, 2 if line.startswith("##") else 1))
    if inside:
        raise SpecError("", f"the code block opened on line {opened + 1} is not closed")
    if not heads or heads[0] != (0, 1) or any(level == 1 for _, level in heads[1:]):
        raise SpecError("title", "a Markdown lesson starts with one '# Title' line; each "
                                 "step starts with '## Step title'")
    _count(len(heads) - 1)
    ends = [i for i, _ in heads[1:]] + [len(lines)]
    steps = []
    for n, (start, end) in enumerate(itertools.pairwise(ends), 1):
        title = lines[start][2:].strip()
        with _at(n, title):
            steps.append(_md_step(title, lines[start + 1:end]))
    return Lesson(lines[0][1:].strip(), "\n".join(lines[1:ends[0]]), tuple(steps))


def _md_step(title: str, body: list[str]) -> Step:
    """A step from the lines under its ``##`` heading (their code blocks are balanced)."""
    end = max((i + 1 for i, line in enumerate(body) if line.strip()), default=0)
    fences = [i for i, line in enumerate(body) if line.startswith(_FENCE)]
    if len(fences) < 2 or fences[-1] != end - 1 or \
            body[fences[-2]][len(_FENCE):].strip().lower() != "json":
        raise SpecError("", "end the step with a ```json block of its settings, e.g. "
                            '{"page": "playground"}')
    settings = check_object(parse_json("\n".join(body[fences[-2] + 1:end - 1]),
                                       what="the ```json block", max_chars=MAX_CHARS),
                            "", _BLOCK_KEYS)
    text, question, inside, taking = [], [], False, False
    for line in body[:fences[-2]]:
        inside ^= line.startswith(_FENCE)
        if taking and line.strip() and not line.startswith(_FENCE):
            question.append(line.strip())  # the question's paragraph goes on
            continue
        taking = not inside and not question and line.startswith(_QUESTION)
        (question if taking else text).append(line.removeprefix(_QUESTION).strip()
                                              if taking else line)
    return _step(title, settings, "\n".join(text), " ".join(q for q in question if q))


def _step(title: Any, d: dict[str, Any], text: Any, question: Any) -> Step:
    """A ``Step`` from its title, settings ``d`` (page, setup, ...), text and question."""
    if "page" not in d:
        raise SpecError("page", f"missing; choose one of: {', '.join(PAGES)}")
    return Step(title, d["page"], _setup(d.get("setup")), d.get("params", {}),
                d.get("hide", []), text, question, d.get("play", False))


def _setup(value: Any) -> Spec | None:
    """The spec of a ``setup``: null, a preset's name, or changes to a preset or Spec()."""
    if value is None:
        return None
    patch = {"preset": value} if isinstance(value, str) else value
    if not isinstance(patch, dict):
        raise SpecError("setup", f"got {_show(value)}; expected a preset's name, an object "
                                 "of what differs from the default setup, or null")
    patch, base = dict(patch), {}
    if "preset" in patch:
        name = patch.pop("preset")
        if not isinstance(name, str) or name not in PRESETS:
            raise SpecError("setup.preset", f"unknown preset {_show(name)}; choose one of: "
                                            f"{', '.join(PRESETS.names())}")
        base = PRESETS.get(name).spec  # the preset's own fields: defaults fill the rest
    try:
        return Spec.from_dict(_merge(base, patch))
    except SpecError as err:
        raise SpecError(f"setup.{err.field}".rstrip("."),
                        str(err).removeprefix(f"{err.field}: ")) from None


@functools.lru_cache(maxsize=64)  # a page may write its lesson on every run
def _setup_value(spec: Spec) -> Any:
    """The shortest JSON of ``spec`` that reads back equal: a preset's name, a preset
    and what differs from it, or what differs from ``Spec()``."""
    full = spec.to_dict()
    best = _diff(full, Spec().to_dict())
    for name in PRESETS.names():
        base = preset(name)
        if base.data.name != spec.data.name:
            continue
        candidate = name if base == spec else {"preset": name, **_diff(full, base.to_dict())}
        with contextlib.suppress(SpecError):
            if len(json.dumps(candidate)) < len(json.dumps(best)) and \
                    _setup(candidate) == spec:
                best = candidate
    return best


def _diff(full: Any, base: Any) -> Any:
    """The parts of ``full`` that differ from ``base`` (dicts recursively, lists whole)."""
    if isinstance(full, dict) and isinstance(base, dict):
        return {k: _diff(v, base[k]) if k in base else v
                for k, v in full.items() if k not in base or v != base[k]}
    return full


def _merge(base: Any, patch: Any) -> Any:
    """``base`` with ``patch`` applied (dicts recursively; anything else replaces)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in patch.items()}}
    return patch


@contextlib.contextmanager
def _at(n: int, title: Any) -> Iterator[None]:
    """Name step ``n`` (and its title) in any ``SpecError`` raised inside."""
    try:
        yield
    except SpecError as err:
        name = " ".join(_CONTROL.sub("", title).split())[:40] if isinstance(title, str) else ""
        raise SpecError(f"step {n}" + (f" ({name})" if name else ""), str(err)) from None


def _count(n: int) -> None:
    if not 1 <= n <= MAX_STEPS:
        raise SpecError("steps", f"the lesson has {n} steps; a lesson has 1 to {MAX_STEPS}")


def _clean(value: Any, field: str, limit: int, *, one_line: bool = False,
           required: bool = False) -> str:
    """Text of at most ``limit`` characters, stripped, no control characters."""
    if not isinstance(value, str):
        raise SpecError(field, "missing" if value is None else
                        f"got {_show(value)}; expected text")
    if len(value) > limit:
        raise SpecError(field, f"is {len(value):,} characters long; at most {limit:,}")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if one_line:
        text = " ".join(line.strip() for line in text.split("\n") if line.strip())
    bad = _CONTROL.search(text)
    if bad:
        raise SpecError(field, f"holds the control character {bad.group()!r}; write plain text")
    if required and not text:
        raise SpecError(field, "is empty; give it a few words")
    return text


def _prose(value: Any, field: str, limit: int) -> str:
    """Markdown text that cannot be mistaken for the lesson's own structure."""
    text, inside = _clean(value, field, limit), False
    for line in text.split("\n"):
        if line.startswith(_FENCE):
            inside = not inside
        elif not inside and (_HEADING.match(line) or line.startswith(_QUESTION)):
            raise SpecError(field, f"the line {_show(line)} would start a new step or a "
                                   "question: use ### for a heading, and the question field")
    if inside:
        raise SpecError(field, "a ``` code block is not closed")
    return text


_RESERVED = ("s", "hide", "lesson", "step", "present", "play", "tfp")  # the app's own


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """Link parameters: at most ``MAX_PARAMS`` distinct names with one-line text values."""
    items = tuple(value.items()) if isinstance(value, dict) else value
    if not isinstance(items, tuple | list) or len(items) > MAX_PARAMS or not all(
            isinstance(p, tuple | list) and len(p) == 2 for p in items):
        raise SpecError("params", f"got {_show(value)}; expected an object of at most "
                                  f'{MAX_PARAMS} text values, like {{"race": "sgd:0.03"}}')
    for key, text in items:
        if not isinstance(key, str) or not _PARAM_KEY.fullmatch(key) or key in _RESERVED:
            raise SpecError("params", f"{_show(key)} is not a parameter name: 1 to 20 of a-z, "
                                      "0-9 and _, starting with a letter, none of "
                                      f"{', '.join(_RESERVED)} (the setup goes in setup, "
                                      "hidden controls in hide)")
        if not isinstance(text, str) or len(text) > MAX_PARAM_CHARS or not text.isprintable():
            raise SpecError(f"params.{key}", f"got {_show(text)}; expected one line of text of "
                                             f"at most {MAX_PARAM_CHARS} characters")
    if len({k for k, _ in items}) != len(items):
        raise SpecError("params", "a parameter is given twice")
    return tuple((k, v) for k, v in items)


def _names(value: Any) -> tuple[str, ...]:
    """Control names to hide: at most ``MAX_HIDE`` short tokens."""
    if not isinstance(value, tuple | list) or len(value) > MAX_HIDE or not all(
            isinstance(v, str) and _HIDE.fullmatch(v) for v in value):
        raise SpecError("hide", f"got {_show(value)}; expected a list of at most {MAX_HIDE} "
                                "names, each 1 to 30 of a-z, 0-9, _ ^ * ( )")
    return tuple(value)


@functools.cache
def _shipped() -> dict[str, Path]:
    files = sorted([*FILES.glob("*.md"), *FILES.glob("*.json")], key=lambda p: p.name)
    return {p.stem.partition("_")[2] or p.stem: p for p in files}


@functools.cache
def _load(name: str) -> Lesson:
    return parse_lesson(_shipped()[name].read_text(encoding="utf-8"))
