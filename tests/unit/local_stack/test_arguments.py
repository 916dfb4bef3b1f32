"""What `make run` starts from its arguments and environment: webhooks to this machine are allowed unless
`--no-webhook-loopback` or `WEBHOOK_ALLOW_LOOPBACK=false` turns them off."""

from __future__ import annotations

import pytest

from local_stack.__main__ import stack_config


def test_webhooks_may_reach_this_machine_unless_turned_off() -> None:
    assert stack_config([], {}).webhook_allow_loopback
    assert not stack_config(["--no-webhook-loopback"], {}).webhook_allow_loopback
    assert not stack_config([], {"WEBHOOK_ALLOW_LOOPBACK": "false"}).webhook_allow_loopback
    assert not stack_config([], {"WEBHOOK_ALLOW_LOOPBACK": "0"}).webhook_allow_loopback
    assert stack_config(["--webhook-loopback"], {"WEBHOOK_ALLOW_LOOPBACK": "false"}).webhook_allow_loopback


def test_a_loopback_setting_that_is_not_a_yes_or_no_stops_the_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        stack_config([], {"WEBHOOK_ALLOW_LOOPBACK": "perhaps"})
    assert stopped.value.code == 2
    assert "WEBHOOK_ALLOW_LOOPBACK is true or false, not 'perhaps'" in capsys.readouterr().err


def test_the_other_arguments_still_reach_the_stack() -> None:
    config = stack_config(["--port", "9000", "--seed", "4", "--interruptions-per-hour", "6"], {})
    assert (config.port, config.seed, config.interruptions_per_hour) == (9000, 4, 6.0)
    with pytest.raises(SystemExit):
        stack_config(["--provider-error-rate", "2"], {})
