"""Prefect block holding the credentials of private git sources, so no config file carries them."""

from __future__ import annotations

from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from pydantic import Field, SecretStr

from repotune.errors import SourceError
from repotune.sources.remote import GitAuth


class GitCredentials(Block):
    """A token (https) or a private key (ssh) that can read a team's repositories.

    Save one (``GitCredentials(token="...").save("github")``) and name it in a source's
    ``credentials: github``; the secret is read when the clone is fetched and handed to that one
    git process only.
    """

    _block_type_name = "Git Credentials"
    _block_type_slug = "git-credentials"
    _description = "Token or SSH key that repotune uses to clone and fetch private repositories."

    username: str = Field(
        "x-access-token",
        description="User name sent with the token over https (GitHub accepts any; GitLab wants "
        "`oauth2`, Bitbucket your user name).",
    )
    token: SecretStr | None = Field(None, description="Access token for https URLs.")
    ssh_private_key: SecretStr | None = Field(
        None, description="Private key (OpenSSH PEM text) for ssh:// and git@host: URLs."
    )

    def to_auth(self) -> GitAuth:
        return GitAuth(
            username=self.username,
            token=self.token.get_secret_value() if self.token else None,
            ssh_private_key=(
                self.ssh_private_key.get_secret_value() if self.ssh_private_key else None
            ),
        )


def load_git_auth(block_name: str) -> GitAuth:
    """Credentials from a saved ``git-credentials`` block, or a ``secret`` block holding a token."""
    try:
        return GitCredentials.load(block_name).to_auth()
    except ValueError:
        pass
    try:
        secret = Secret.load(block_name).get()
    except ValueError:
        raise SourceError(
            f"no `git-credentials` or `secret` block named {block_name!r} is saved",
            f"save one, e.g. `GitCredentials(token=...).save({block_name!r})`, or fix "
            "`credentials` in the source",
        ) from None
    if not isinstance(secret, str):
        raise SourceError(
            f"the `secret` block {block_name!r} holds a {type(secret).__name__}, not a token",
            "store the token as a plain string, or use a `git-credentials` block",
        )
    return GitAuth(token=secret)
