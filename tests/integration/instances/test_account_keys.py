"""A person's SSH keys over a real table (moto): every instance they create starts with them, in any of
their teams, beside the key given at creation; other people's instances do not get them."""

from __future__ import annotations

import pytest

from dumont_core.instances.account_keys import AccountKeyRepository, AccountKeyService
from dumont_core.instances.service import InstanceService
from dumont_core.platform.errors import Conflict, NotFound, ValidationFailed
from dumont_core.platform.identity import Principal
from tests.integration.instances.conftest import PRINCIPAL, SSH_KEY, Cloud, spec

BOB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn bob@box"
BOB_FINGERPRINT = "256 SHA256:QM7lTf25psOVJ4QsAYFYAEPEa4c4W6BPZmMzpHYHSOM bob@box (ED25519)"


@pytest.fixture
def keys(cloud: Cloud, dynamodb_table: str) -> AccountKeyService:
    return AccountKeyService(repository=AccountKeyRepository(), clock=cloud.clock)


@pytest.fixture
def creating(cloud: Cloud, keys: AccountKeyService) -> InstanceService:
    """The instance service as the API runs it: new instances get their creator's account keys."""
    service = cloud.service
    return InstanceService(
        repository=service.repository,
        readings=service.readings,
        publisher=service.publisher,
        workflows=service.workflows,
        account_keys=keys,
        clock=cloud.clock,
    )


def test_an_account_key_is_on_every_instance_its_owner_creates_afterwards(
    cloud: Cloud, keys: AccountKeyService, creating: InstanceService
) -> None:
    added = keys.add(PRINCIPAL, BOB, "bob")
    assert (added.name, added.fingerprint) == ("bob", BOB_FINGERPRINT)

    instance = creating.create(PRINCIPAL, spec(ssh_key=SSH_KEY))
    in_other_team = creating.create(PRINCIPAL.model_copy(update={"team_id": "team_2"}), spec())

    stored = cloud.stored(instance)
    assert [key.public_key for key in stored.ssh_keys] == [SSH_KEY, BOB]
    assert [key.name for key in cloud.stored(in_other_team).ssh_keys] == ["bob"]


def test_a_key_given_at_creation_that_is_also_an_account_key_is_kept_once(
    cloud: Cloud, keys: AccountKeyService, creating: InstanceService
) -> None:
    keys.add(PRINCIPAL, BOB, None)

    instance = creating.create(PRINCIPAL, spec(ssh_key=BOB))

    assert [key.name for key in cloud.stored(instance).ssh_keys] == ["added at creation"]


def test_someone_else_s_instances_do_not_get_the_key(
    cloud: Cloud, keys: AccountKeyService, creating: InstanceService
) -> None:
    keys.add(PRINCIPAL, BOB, None)
    colleague = Principal(account_id="acct_2", team_id=PRINCIPAL.team_id)

    instance = creating.create(colleague, spec())

    assert cloud.stored(instance).ssh_keys == []
    assert keys.keys(colleague) == []


def test_a_removed_key_is_not_given_to_new_instances_and_stays_on_those_that_have_it(
    cloud: Cloud, keys: AccountKeyService, creating: InstanceService
) -> None:
    added = keys.add(PRINCIPAL, BOB, None)
    before = creating.create(PRINCIPAL, spec())

    assert keys.remove(PRINCIPAL, added.key_id).key_id == added.key_id
    after = creating.create(PRINCIPAL, spec())

    assert [key.public_key for key in cloud.stored(before).ssh_keys] == [BOB]
    assert cloud.stored(after).ssh_keys == []
    with pytest.raises(NotFound):
        keys.remove(PRINCIPAL, added.key_id)


def test_the_same_key_twice_and_a_key_that_is_not_one_are_refused(keys: AccountKeyService) -> None:
    first = keys.add(PRINCIPAL, BOB, None)

    with pytest.raises(Conflict, match=first.key_id):
        keys.add(PRINCIPAL, f"{BOB.rsplit(' ', 1)[0]} another comment", None)
    with pytest.raises(ValidationFailed, match="not a valid ssh-ed25519 key"):
        keys.add(PRINCIPAL, "ssh-ed25519 AAAA", None)
    assert [key.key_id for key in keys.keys(PRINCIPAL)] == [first.key_id]
