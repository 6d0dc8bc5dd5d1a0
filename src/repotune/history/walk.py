"""Read a repository's first-parent history and each commit's changed files in a few git calls.

A few thousand commits must not mean a few thousand processes: one ``git log`` lists every commit
(sha, parents, author, date, message) as NUL-separated records, and one ``git diff-tree --stdin``
lists the raw changes and line counts of all of them. Commits not worth diffing (merges, reverts,
bots, roots) are recognised from that metadata alone, before any diff is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from repotune.config import HistoryConfig
from repotune.errors import SourceError
from repotune.sources.git import _git

FIELD = "\x1f"
LOG_FORMAT = FIELD.join(("%H", "%P", "%an", "%ae", "%ct", "%B"))
HEX_SHA = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class CommitInfo:
    """One commit of the walk, newest first; ``message`` is raw (the miner scrubs it)."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    committed_at: str
    message: str


@dataclass(frozen=True)
class FileChange:
    """One entry of ``git diff-tree --raw``: ``status`` is A, D, M, T or R (renames, ``-M``)."""

    status: str
    old_mode: str
    new_mode: str
    old_blob: str
    new_blob: str
    old_path: str
    path: str


@dataclass
class CommitDiff:
    """A commit's changed files and, per (new) path, its added + deleted line count."""

    files: list[FileChange] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)


def _since_timestamp(since: str) -> int:
    moment = datetime.fromisoformat(since)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _verify_stop_at(repo: str, ref: str) -> None:
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except SourceError:
        raise SourceError(
            f"`history.stop_at` ({ref!r}) does not name a commit in {repo}",
            "pass an existing branch, tag or SHA, or leave `history.stop_at` empty",
        ) from None


def list_commits(repo: str, head: str, history: HistoryConfig) -> list[CommitInfo]:
    """First-parent commits from ``head`` (newest first) within the configured bounds."""
    args = ["log", "--first-parent", "--no-show-signature", "-z", f"--format={LOG_FORMAT}"]
    if history.max_commits is not None:
        args.append(f"--max-count={history.max_commits}")
    if history.since is not None:
        args.append(f"--since=@{_since_timestamp(history.since)}")
    args.append(head)
    if history.stop_at is not None:
        _verify_stop_at(repo, history.stop_at)
        args.append(f"^{history.stop_at}")
    out = _git(repo, *args, "--").decode("utf-8", "replace")
    commits = []
    for record in out.split("\0"):
        if not record:
            continue
        sha, parents, name, email, stamp, message = record.split(FIELD, 5)
        commits.append(
            CommitInfo(
                sha=sha,
                parents=tuple(parents.split()),
                author_name=name,
                author_email=email,
                committed_at=datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                message=message.strip(),
            )
        )
    return commits


def commit_reason(
    commit: CommitInfo, history: HistoryConfig, boundaries: frozenset[str] | None
) -> str | None:
    """Why a commit is not diffed at all, from its metadata alone (structure, author, message)."""
    if not commit.parents:
        return "shallow_boundary" if boundaries and commit.sha in boundaries else "root"
    if len(commit.parents) > 1:
        return "merge"
    author = f"{commit.author_name}\n{commit.author_email}".lower()
    if any(pattern.lower() in author for pattern in history.bot_authors):
        return "bot_author"
    if commit.message.startswith('Revert "') or "This reverts commit" in commit.message:
        return "revert"
    return None


def shallow_boundaries(repo: str) -> frozenset[str] | None:
    """Commits whose parents were cut off by a shallow clone, or None for a full history.

    Git hides a boundary commit's parents (it looks like a root commit), so the ``shallow`` file
    is what tells "nothing before this" from "history was truncated here".
    """
    out = _git(repo, "rev-parse", "--is-shallow-repository", "--git-path", "shallow").decode()
    flag, shallow_file = out.splitlines()[:2]
    if flag.strip() != "true":
        return None
    path = Path(shallow_file.strip())
    path = path if path.is_absolute() else Path(repo) / path
    return frozenset(path.read_text().split()) if path.exists() else frozenset()


def _path(token: bytes) -> str:
    return token.decode("utf-8", "surrogateescape")


def changed_files(repo: str, shas: list[str]) -> dict[str, CommitDiff]:
    """Each single-parent commit's changes against its parent, from one ``diff-tree --stdin``.

    ``--raw`` and ``--numstat`` together print, per commit, the header (its sha), the raw entries
    (``:modes blobs status`` then one path, or two for renames) and the line counts
    (``added<TAB>deleted<TAB>path``, or an empty path followed by the two rename paths).
    A commit without changes prints nothing and gets no entry.
    """
    if not shas:
        return {}
    out = _git(
        repo,
        "diff-tree",
        "--stdin",
        "-r",
        "-z",
        "-M",
        "--raw",
        "--numstat",
        input_bytes="".join(f"{sha}\n" for sha in shas).encode(),
    )
    diffs: dict[str, CommitDiff] = {}
    current = CommitDiff()
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.startswith(b":"):
            old_mode, new_mode, old_blob, new_blob, status = token[1:].decode().split()
            old_path = _path(tokens[i])
            i += 1
            if status[0] in "RC":
                new_path = _path(tokens[i])
                i += 1
            else:
                new_path = old_path
            current.files.append(
                FileChange(status[0], old_mode, new_mode, old_blob, new_blob, old_path, new_path)
            )
        elif b"\t" in token:
            added, deleted, path = token.split(b"\t", 2)
            if not path:
                path = tokens[i + 1]
                i += 2
            count = sum(int(n) for n in (added, deleted) if n != b"-")
            current.lines[_path(path)] = count
        elif HEX_SHA.fullmatch(token):
            current = diffs.setdefault(token.decode(), CommitDiff())
    return diffs


def blob_sizes(repo: str, blobs: list[str]) -> dict[str, int]:
    """Size of each blob present, from one ``git cat-file --batch-check`` (no content is read).

    A blob the object store lacks (``<sha> missing``) is left out rather than failing the walk.
    """
    if not blobs:
        return {}
    out = _git(
        repo, "cat-file", "--batch-check", input_bytes="".join(f"{b}\n" for b in blobs).encode()
    )
    sizes = {}
    for line in out.decode().splitlines():
        fields = line.split()
        if len(fields) == 3:
            sizes[fields[0]] = int(fields[2])
    return sizes
