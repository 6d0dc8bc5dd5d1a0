"""The workspace folder: where every stage writes, and how writes stay safe.

Layout (all under ``PipelineConfig.workspace``)::

    datasets/<stage>/<fingerprint>/   parquet files + manifest.json (the completion marker)
    models/base/<fingerprint>/        offline base model (tokenizer + weights)
    models/adapters/<name>/           LoRA adapters before they are logged to MLflow
    mlflow.db, mlartifacts/           the embedded MLflow store
    prefect/                          PREFECT_HOME of the embedded Prefect API
    reports/                          gate reports and other human-readable outputs
    cache/blobs.sqlite                per-file extraction results by blob hash (incremental runs)
    cache/history.sqlite              per-commit change pairs (history mining resumes from it)
    cache/clones/                     bare clones of URL sources, fetched on later runs

Outputs are content-addressed and written to a temporary sibling that is renamed into place, so two
runs on one workspace never see a half-written dataset or model.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def at(cls, path: str | os.PathLike[str]) -> Workspace:
        root = Path(path).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    def dataset_dir(self, stage: str, fingerprint: str) -> Path:
        return self.root / "datasets" / stage / fingerprint

    def base_model_dir(self, fingerprint: str) -> Path:
        return self.root / "models" / "base" / fingerprint

    def adapter_dir(self, name: str) -> Path:
        return self.root / "models" / "adapters" / name

    @property
    def extraction_cache(self) -> Path:
        return self.root / "cache" / "blobs.sqlite"

    @property
    def history_cache(self) -> Path:
        return self.root / "cache" / "history.sqlite"

    @property
    def llm_cache(self) -> Path:
        return self.root / "cache" / "llm_responses.sqlite"

    @property
    def clones_dir(self) -> Path:
        return self.root / "cache" / "clones"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"

    @property
    def mlflow_db(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.root / "mlartifacts"

    def default_tracking_uri(self) -> str:
        return f"sqlite:///{self.mlflow_db}"


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``final`` only if the block succeeds.

    If another writer finished ``final`` first (same content address), its result is kept and ours
    is discarded: both are identical by construction.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
