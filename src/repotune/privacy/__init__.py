"""Scrub secrets and personal data before anything is stored or trained on."""

from repotune.privacy.scrub import Finding, ScrubResult, detect, scrub_text, secret_file_kind

SCRUBBER_VERSION = "scrub-2"
"""Part of every cached extraction result's key: a changed scrubber re-scrubs every file."""

__all__ = [
    "SCRUBBER_VERSION",
    "Finding",
    "ScrubResult",
    "detect",
    "scrub_text",
    "secret_file_kind",
]
