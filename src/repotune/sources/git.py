"""Read the files git tracks in a repository at a ref, without touching its working tree.

Reading blobs from the object store (``git ls-tree`` + ``git cat-file --batch``) means uncommitted
edits never leak into a dataset and a snapshot is fully named by its commit SHA.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from repotune.errors import SourceError


@dataclass(frozen=True)
class Snapshot:
    """A repository pinned to one commit: the cache key of everything extracted from it."""

    repo: str
    ref: str
    commit: str
    origin: str = ""
    """Where the repository comes from as configured: the URL of a cloned source, else ``repo``."""

    def __post_init__(self) -> None:
        if not self.origin:
            object.__setattr__(self, "origin", self.repo)

    @property
    def name(self) -> str:
        """Short name of the repository (its folder or URL stem), for display and file keys."""
        stem = self.origin.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]
        return stem.removesuffix(".git") or "repo"


@dataclass(frozen=True)
class TrackedFile:
    path: str
    blob: str
    size: int
    kind: str = "file"


def _git(repo: str | Path, *args: str, input_bytes: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args],
            input=input_bytes,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise SourceError("git is not installed", "install git and retry") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SourceError(
            f"`git {' '.join(args[:2])}` failed in {repo}: {message[-1] if message else '?'}"
        )
    return result.stdout


def _work_root(path: Path, repo: str) -> str:
    """The folder git commands run in: the top of a checkout, or a bare repository itself."""
    bare = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--is-bare-repository"],
        capture_output=True,
        check=False,
    )
    if bare.returncode != 0:
        raise SourceError(
            f"{repo} is not a git repository", "run `git init` and commit, or pass another --repo"
        )
    if bare.stdout.strip() == b"true":
        return str(path)
    return _git(path, "rev-parse", "--show-toplevel").decode().strip()


def resolve_snapshot(repo: str, ref: str = "HEAD", origin: str = "") -> Snapshot:
    """Check that ``repo`` is a git repository with ``ref`` and pin it to a commit SHA."""
    path = Path(repo).expanduser()
    if not path.exists():
        raise SourceError(
            f"repository path {repo} does not exist", "pass --repo with a path to a git checkout"
        )
    if not path.is_dir():
        raise SourceError(f"repository path {repo} is not a directory", "pass a git checkout")
    top = _work_root(path, repo)
    verify = subprocess.run(
        ["git", "-C", top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if verify.returncode != 0:
        raise SourceError(
            f"ref {ref!r} does not name a commit in {origin or top}",
            "commit something first or pass an existing --ref",
        )
    return Snapshot(
        repo=str(Path(top).resolve()),
        ref=ref,
        commit=verify.stdout.decode().strip(),
        origin=origin,
    )


def list_tracked_files(snapshot: Snapshot) -> list[TrackedFile]:
    """Every entry git tracks at the snapshot's commit: blobs, symlinks and submodules.

    Symlinks and submodules are listed (with their ``kind``) so they can be counted as skipped;
    they are never followed, so a link pointing outside the repository cannot leak into a dataset.
    """
    listing = _git(snapshot.repo, "ls-tree", "-r", "-z", "--long", snapshot.commit)
    files = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, blob, size = meta.split()
        if kind == b"commit":
            file_kind = "submodule"
        elif mode == b"120000":
            file_kind = "symlink"
        else:
            file_kind = "file"
        files.append(
            TrackedFile(
                path=raw_path.decode("utf-8", "surrogateescape"),
                blob=blob.decode(),
                size=int(size) if size != b"-" else 0,
                kind=file_kind,
            )
        )
    return files


def read_blobs(repo: str, blobs: list[str]) -> Iterator[tuple[str, bytes]]:
    """Yield ``(blob_sha, content)`` for each blob, in one ``git cat-file --batch`` process."""
    if not blobs:
        return
    out = _git(repo, "cat-file", "--batch", input_bytes="".join(f"{b}\n" for b in blobs).encode())
    pos = 0
    for _ in blobs:
        header_end = out.index(b"\n", pos)
        sha, _kind, size = out[pos:header_end].split()
        start = header_end + 1
        content = out[start : start + int(size)]
        pos = start + int(size) + 1
        yield sha.decode(), content


def source_tags(snapshots: list[Snapshot]) -> dict[str, str]:
    """Lineage tags of a model: the first repository as ``source_repo``/``source_commit``, and
    every repository as ``origin@commit`` in ``source_commits`` when there are several."""
    tags = {"source_repo": snapshots[0].origin, "source_commit": snapshots[0].commit}
    if len(snapshots) > 1:
        tags["source_commits"] = " ".join(f"{s.origin}@{s.commit}" for s in snapshots)
    return tags


def recently_changed(repo: str, commit: str, commits: int) -> set[str]:
    """Paths changed by the newest ``commits`` first-parent commits up to ``commit``: the time
    holdout. Merges count with their first-parent diff; a history no longer than ``commits``
    holds nothing out."""
    if commits <= 0:
        return set()
    history = int(_git(repo, "rev-list", "--first-parent", "--count", commit).decode())
    if history <= commits:
        return set()  # the whole history is "recent": holding it all out would leave no train
    log = _git(
        repo, "log", "--first-parent", "-m", "--name-only", "--format=", f"-n{commits}", commit
    )
    return {line for line in log.decode("utf-8", "surrogateescape").splitlines() if line}
