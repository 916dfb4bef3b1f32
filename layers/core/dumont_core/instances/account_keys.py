"""A person's SSH keys, given to every instance they create from then on (`/api/v1/ssh-keys`).

Keys belong to the account, not to a team: whoever creates an instance, in any of their teams, finds their
keys on it. They are read and fingerprinted as an instance's keys are (`instances.ssh_keys`), and copied
into the new instance's keys when it is created, so they reach its first machine and every machine it
moves to as the instance's own keys do; removing one from the account leaves instances that have it
alone (remove it there with `/api/v1/instances/{id}/ssh-keys/{key_id}`).

A key is an item of its account (`ACCOUNT#{account_id}` / `SSHKEY#{key_id}`); its id is made from the key
itself, so the same key added twice, even at once, is refused by the write's condition.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pynamodb.exceptions import DeleteError, PutError

from dumont_core.instances.ssh_keys import MAX_KEYS_PER_INSTANCE, SshKey, read_public_key
from dumont_core.platform import table
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.dynamodb import item_type, to_model, write_refused
from dumont_core.platform.errors import Conflict, NotFound
from dumont_core.platform.identity import Principal

MAX_ACCOUNT_KEYS = MAX_KEYS_PER_INSTANCE // 2
"""Half an instance's room: the key given at creation and keys added later fit beside them."""

AccountKeyItem = item_type(SshKey)
KEY_PREFIX = table.key("SSHKEY", "")


def _keys(account_id: str, key_id: str) -> tuple[str, str]:
    return table.key("ACCOUNT", account_id), table.key("SSHKEY", key_id)


def account_key_id(key: SshKey) -> str:
    """The id of a key in an account: the same key always has the same one."""
    return f"key_{hashlib.sha256(key.sha256.encode()).hexdigest()[:16]}"


def account_key_not_found(key_id: str) -> NotFound:
    return NotFound("SSH_KEY_NOT_FOUND", f"Your account has no SSH key {key_id}", key_id=key_id)


class AccountKeyRepository:
    def add(self, account_id: str, key: SshKey) -> bool:
        """Store the key; False when the account already has it."""
        item = AccountKeyItem(*_keys(account_id, key.key_id), **key.model_dump())
        try:
            item.save(condition=AccountKeyItem.PK.does_not_exist())
        except PutError as error:
            if write_refused(error):
                return False
            raise
        return True

    def keys(self, account_id: str) -> list[SshKey]:
        items = AccountKeyItem.query(
            table.key("ACCOUNT", account_id), AccountKeyItem.SK.startswith(KEY_PREFIX), consistent_read=True
        )
        return sorted((to_model(SshKey, item) for item in items), key=lambda key: key.added_at)

    def remove(self, account_id: str, key_id: str) -> bool:
        try:
            AccountKeyItem(*_keys(account_id, key_id)).delete(condition=AccountKeyItem.PK.exists())
        except DeleteError as error:
            if write_refused(error):
                return False
            raise
        return True


@dataclass(frozen=True, kw_only=True)
class AccountKeyService:
    repository: AccountKeyRepository
    clock: Clock = utc_now

    def keys(self, principal: Principal) -> list[SshKey]:
        return self.repository.keys(principal.account_id)

    def add(self, principal: Principal, public_key: str, name: str | None) -> SshKey:
        read = read_public_key(public_key, name, self.clock())
        key = read.model_copy(update={"key_id": account_key_id(read)})
        known = self.repository.keys(principal.account_id)
        if any(each.key_id == key.key_id for each in known) or not self._stored(principal, key, known):
            raise Conflict(
                f"This key is already one of your account's, as {key.key_id}", details={"key_id": key.key_id}
            )
        return key

    def _stored(self, principal: Principal, key: SshKey, known: list[SshKey]) -> bool:
        if len(known) >= MAX_ACCOUNT_KEYS:
            raise Conflict(
                f"Your account already has {MAX_ACCOUNT_KEYS} SSH keys; remove one first",
                details={"limit": MAX_ACCOUNT_KEYS},
            )
        return self.repository.add(principal.account_id, key)

    def remove(self, principal: Principal, key_id: str) -> SshKey:
        known = next((key for key in self.keys(principal) if key.key_id == key_id), None)
        if known is None or not self.repository.remove(principal.account_id, key_id):
            raise account_key_not_found(key_id)
        return known

    def for_new_instance(self, account_id: str) -> list[SshKey]:
        """The keys an instance the account creates now starts with."""
        return self.repository.keys(account_id)
