"""``python -m repotune`` is the ``repotune`` command."""

from repotune.cli import app

app()
