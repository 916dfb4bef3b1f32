"""The bodies of `/api/v1/ssh-keys`: an account's SSH keys, read as an instance's keys are."""

from __future__ import annotations

from api.instances.schemas import NewSshKeyRequest, SshKeyView

__all__ = ["AccountSshKeyView", "NewSshKeyRequest"]


class AccountSshKeyView(SshKeyView):
    """A key of your account: every instance you create from now on starts with it."""
