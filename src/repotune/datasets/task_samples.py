"""One builder per training task: a code unit or a change pair in, a prompt/completion sample out.

Every builder returns a :class:`~repotune.records.Sample` or the reason it made none (counted in
the manifest as ``<task>:<reason>``). Prompts are plain text a base model can continue, so every
task trains with the same completion-only loss; the conversational form of each sample (a user
turn and an assistant turn) is derived from the same pair by :func:`messages`.

- ``completion``: class headers + signature + docstring → body (see :mod:`.completion`).
- ``fim``: fill in the middle of a body. A span of whole lines is cut from the body (position and
  length drawn from the unit's id, so a rebuild gives the same sample); PSM order is
  ``<prefix-token>prefix<suffix-token>suffix<middle-token>`` → middle, SPM order (for
  ``fim_spm_rate`` of the samples) is ``<prefix-token><suffix-token>suffix<middle-token>prefix``
  → middle, the variants of Bavarian et al. 2022 that code models are trained with.
- ``naming``: the code with the unit's name replaced by ``___`` → the name.
- ``docstring``: the code without its docstring → the docstring.
- ``instruction``: the docstring as a request (with the signature) → the code.
- ``repair`` / ``refactor`` / ``feature`` instruction from history: the commit's ``before`` (with
  the commit subject for refactors and features) → ``after``.
"""

from __future__ import annotations

import hashlib
import json
import re

from repotune.records import ChangePair, CodeUnit, Sample

UNIT_TASKS = ("completion", "fim", "naming", "docstring", "instruction")
HISTORY_TASKS = ("repair", "refactor")
TASKS = (*UNIT_TASKS, *HISTORY_TASKS)
MIN_DOCSTRING_CHARS = 12
NAME_MASK = "___"


def _draw(unit_id: str, salt: str) -> float:
    """A number in [0, 1) fixed by the unit's id: deterministic, yet spread over units."""
    digest = hashlib.sha256(f"{salt}\0{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _sample(
    task: str, prompt: str, completion: str, source_id: str, path: str, split: str, **labels: str
) -> Sample:
    return Sample(task, prompt, completion, source_id, path, split, dict(labels))


def fim_sample(
    unit: CodeUnit, path: str, split: str, tokens: tuple[str, str, str], spm_rate: float
) -> Sample | str:
    """A fill-in-the-middle sample from the unit's body, or the reason there is none."""
    lines = unit.body.splitlines(keepends=True)
    if len(lines) < 3:
        return "body_too_short"
    start = 1 + int(_draw(unit.id, "fim-start") * (len(lines) - 2))
    length = 1 + int(_draw(unit.id, "fim-length") * min(4, len(lines) - start))
    prefix = unit.enclosing + unit.header + "".join(lines[:start])
    middle = "".join(lines[start : start + length])
    suffix = "".join(lines[start + length :])
    if not middle.strip():
        return "blank_middle"
    pre, mid, suf = tokens
    spm = _draw(unit.id, "fim-order") < spm_rate
    prompt = f"{pre}{suf}{suffix}{mid}{prefix}" if spm else f"{pre}{prefix}{suf}{suffix}{mid}"
    order = "spm" if spm else "psm"
    return _sample("fim", prompt, middle, unit.id, path, split, order=order, language=unit.language)


def naming_sample(unit: CodeUnit, path: str, split: str) -> Sample | str:
    """The unit's code with its name masked → the name."""
    name = unit.qualname.rpartition(".")[2]
    if name.startswith("__") or name.lower().startswith("test") or len(name) < 3:
        return "name_not_descriptive"
    masked = re.sub(rf"\b{re.escape(name)}\b", NAME_MASK, unit.code)
    prompt = (
        f"{unit.imports}{unit.enclosing}{masked}\n"
        f"What is the best name for the {unit.kind} `{NAME_MASK}` above?\n"
    )
    return _sample("naming", prompt, name, unit.id, path, split, language=unit.language)


def _without_docstring(unit: CodeUnit) -> str:
    """The unit's code with its docstring (Python) or doc comment (others) removed."""
    if unit.language == "python":
        return unit.enclosing + unit.signature + unit.body
    return unit.enclosing + unit.header.replace(unit.docstring, "") + unit.body


def docstring_sample(unit: CodeUnit, path: str, split: str) -> Sample | str:
    if len(unit.docstring.strip()) < MIN_DOCSTRING_CHARS:
        return "no_docstring"
    prompt = f"{_without_docstring(unit)}\nWrite the docstring of `{unit.qualname}`.\n"
    return _sample("docstring", prompt, unit.docstring.strip() + "\n", unit.id, path, split)


def instruction_sample(unit: CodeUnit, path: str, split: str) -> Sample | str:
    if len(unit.docstring.strip()) < MIN_DOCSTRING_CHARS:
        return "no_docstring"
    request = (
        f"Write a {unit.language} {unit.kind} with this signature:\n{unit.signature.strip()}\n"
        f"It should: {unit.docstring.strip()}\n"
    )
    return _sample("instruction", request, unit.code, unit.id, path, split, source="docstring")


def teacher_instruction_sample(unit: CodeUnit, instruction: str, path: str, split: str) -> Sample:
    """An instruction sample whose request an LLM teacher wrote for the unit (``annotate``)."""
    request = (
        f"{instruction.strip()}\nWrite it as a {unit.language} {unit.kind} with this signature:"
        f"\n{unit.signature.strip()}\n"
    )
    return _sample("instruction", request, unit.code, unit.id, path, split, source="llm")


def history_sample(pair: ChangePair, path: str, split: str) -> Sample | None:
    """A repair sample from a bug fix, a refactor sample from a refactor, an instruction sample
    from a feature; None for changes of kind ``other``."""
    subject = pair.message.strip().splitlines()[0] if pair.message.strip() else ""
    if pair.kind == "bugfix":
        prompt = f"Fix the bug in this {pair.language} function.\n{pair.before}"
        return _sample("repair", prompt, pair.after, pair.id, path, split, origin="history")
    if pair.kind == "refactor":
        prompt = f"Refactor this {pair.language} function: {subject}\n{pair.before}"
        return _sample("refactor", prompt, pair.after, pair.id, path, split, commit=pair.commit)
    if pair.kind == "feature":
        prompt = f"{subject}\nChange this {pair.language} function accordingly.\n{pair.before}"
        return _sample("instruction", prompt, pair.after, pair.id, path, split, source="commit")
    return None


def messages(sample: Sample) -> str:
    """The conversational (chat) form of a sample, as TRL's ``messages`` column, JSON-encoded."""
    return json.dumps(
        [
            {"role": "user", "content": sample.prompt},
            {"role": "assistant", "content": sample.completion},
        ]
    )
