"""repotune: turn a team's own repositories into the team's own code model."""

__version__ = "0.1.0"
