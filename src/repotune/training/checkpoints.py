"""Checkpoint folders that a crashed run can resume from, and only the run that wrote them.

The trainer writes ``checkpoint-<step>/`` every ``save_steps``; ``trainer_state.json`` is the last
file it writes there, so a folder without it was cut short (``kill -9`` mid-save) and is never
resumed from. A stamp file records which run wrote the folder (base model, data, settings): after
a change to any of them the old optimizer state and step count would be silently wrong, so resuming
is refused with an error that says what to do instead.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from repotune.errors import RepotuneError

STAGE = "train"
STAMP = "repotune_run.json"
STATE_FILE = "trainer_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def _checkpoints(folder: Path) -> list[tuple[int, Path]]:
    found = [
        (int(match.group(1)), path)
        for path in folder.iterdir()
        if path.is_dir() and (match := _CHECKPOINT.match(path.name))
    ]
    return sorted(found)


def last_complete_checkpoint(folder: Path) -> Path | None:
    """The newest ``checkpoint-<step>`` whose trainer state was written, if any."""
    if not folder.is_dir():
        return None
    complete = [path for _, path in _checkpoints(folder) if (path / STATE_FILE).is_file()]
    return complete[-1] if complete else None


def prepare_checkpoints(folder: Path, run_key: str, resume: bool, is_main: bool) -> Path | None:
    """Get ``folder`` ready for this run; return the checkpoint to resume from, if any.

    ``resume=False`` starts over: earlier checkpoints there are deleted. ``resume=True`` continues
    from the last complete checkpoint when the folder's stamp is this run's (``run_key``), drops
    incomplete ones after it, and refuses a folder stamped by another run (an unstamped folder
    starts over). Only the main process (``is_main``) changes files; every process gets the same
    answer.
    """
    stamp = folder / STAMP
    written_by = (
        json.loads(stamp.read_text(encoding="utf-8")).get("run_key") if stamp.is_file() else None
    )
    if resume and written_by not in (None, run_key):
        raise RepotuneError(
            STAGE,
            f"the checkpoints in {folder} were written by a run with another base model, data or "
            "`train` settings, so resuming from them would be wrong",
            "resume with the same settings, or start over (resume off) or in a new checkpoint "
            "folder",
        )
    last = last_complete_checkpoint(folder) if resume and written_by == run_key else None
    if is_main:
        folder.mkdir(parents=True, exist_ok=True)
        for step, path in _checkpoints(folder):
            if last is None or step > int(_CHECKPOINT.match(last.name).group(1)):
                shutil.rmtree(path, ignore_errors=True)
        stamp.write_text(json.dumps({"run_key": run_key}), encoding="utf-8")
    return last
