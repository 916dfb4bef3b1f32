"""An instance's SSH keys over a real table (moto): kept on the instance, never lost to a race."""

from __future__ import annotations

import pytest

from dumont_core.instances.models import StaleInstanceState
from dumont_core.instances.ssh_keys import read_public_key
from tests.integration.instances.conftest import SSH_KEY, Cloud

BOB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn bob@box"


def test_the_key_given_at_creation_is_the_first_of_the_instance_s_keys(cloud: Cloud) -> None:
    instance = cloud.create(ssh_key=SSH_KEY)

    stored = cloud.stored(instance)
    assert [key.public_key for key in stored.ssh_keys] == [SSH_KEY]
    assert stored.ssh_keys[0].name == "added at creation"


def test_keys_written_from_a_stale_read_are_refused_instead_of_losing_a_change(cloud: Cloud) -> None:
    instance = cloud.create(ssh_key=SSH_KEY)
    stale = cloud.stored(instance)
    cloud.clock.advance(seconds=1)
    cloud.service.configure(stale, {"checkpoint_interval_minutes": 5.0})  # another writer, in between

    with pytest.raises(StaleInstanceState):
        cloud.service.replace_ssh_keys(stale, [*stale.ssh_keys, read_public_key(BOB, None, cloud.clock())])

    fresh = cloud.stored(instance)
    kept = cloud.service.replace_ssh_keys(fresh, [*fresh.ssh_keys, read_public_key(BOB, None, cloud.clock())])
    assert [key.name for key in cloud.stored(kept).ssh_keys] == ["added at creation", "bob@box"]
