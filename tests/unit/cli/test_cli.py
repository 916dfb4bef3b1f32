"""The `dumont` command's promises, against a scripted API: JSON alone on stdout, exit codes, a key never
printed whole, an example in every command's help."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pytest

from dumont_cli import exit_codes, settings
from dumont_cli.main import cli
from tests.fakes.api_answers import ScriptedApi, envelope, error
from tests.unit.cli.conftest import KEY, invoke

INSTANCE = {"id": "inst_1", "name": "train", "status": "starting", "gpu": "RTX 4090", "ip": None}


def commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")


@pytest.mark.parametrize("name", [name for name, _ in commands(cli)])
def test_every_command_has_help_with_an_example(name: str) -> None:
    code, out, _ = invoke(*name.split(), "--help")
    assert code == 0
    assert "Example:\n" in out and "dumont " in out.split("Example:")[1]


def test_list_output_json_is_clean_json_on_stdout(scripted: ScriptedApi) -> None:
    scripted.answers.append(envelope([INSTANCE], meta={"page": 1, "per_page": 100, "total": 1}))
    code, out, err = invoke("list", "--output", "json")
    assert code == 0
    assert [item["name"] for item in json.loads(out)["instances"]] == ["train"]
    assert err == ""


def test_create_output_json_answers_the_id_and_reports_on_stderr(scripted: ScriptedApi) -> None:
    scripted.answers += [envelope({"id": "inst_1", "status": "starting"}, 201), envelope(INSTANCE)]
    code, out, err = invoke("create", "--gpu", "A100", "--output", "json")
    assert code == 0
    assert json.loads(out)["id"] == "inst_1"
    assert "Created inst_1" in err
    assert scripted.body(0) == {"gpu_type": "A100"}
    assert scripted.requests[0].headers["Idempotency-Key"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (error(404, "INSTANCE_NOT_FOUND", "no instance INSTANCE_ID in your team"), exit_codes.NOT_FOUND),
        (error(401, "UNAUTHENTICATED", "revoked key"), exit_codes.NOT_AUTHENTICATED),
        (error(409, "INVALID_STATE", "it is stopped"), exit_codes.CONFLICT),
        (error(429, "RATE_LIMITED", "slow down", headers={"Retry-After": "9"}), exit_codes.RATE_LIMITED),
        (error(402, "INSUFFICIENT_BALANCE", "add credits"), exit_codes.INSUFFICIENT_BALANCE),
        (error(503, "SERVICE_UNAVAILABLE", "try again"), exit_codes.UNAVAILABLE),
        (error(400, "VALIDATION_ERROR", "bad id"), exit_codes.USAGE),
    ],
)
def test_errors_exit_with_their_documented_code_and_the_apis_message(
    scripted: ScriptedApi, answer: httpx.Response, expected: int
) -> None:
    scripted.answers.append(answer)
    code, out, err = invoke("show", "INSTANCE_ID", "--output", "json")
    assert code == expected
    assert out == ""
    message = json.loads(answer.content)["error"]["message"]
    assert message in err and "Traceback" not in err
    if expected == exit_codes.RATE_LIMITED:
        assert "retry in 9 s" in err


def test_no_key_anywhere_says_how_to_set_one(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUMONT_API_KEY")
    code, out, err = invoke("list")
    assert code == exit_codes.NOT_AUTHENTICATED
    assert "dumont config set-key" in err and out == ""


def test_config_show_masks_the_key_from_the_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUMONT_API_KEY")
    assert invoke("config", "set-key", KEY)[0] == 0
    code, out, _ = invoke("config", "show", "--output", "json")
    shown = json.loads(out)
    assert code == 0 and KEY not in out
    assert shown["api_key"] == "dumont_sk_0123…ghij"
    assert shown["api_key_source"] == str(home / "dumont" / "config.json")


def test_completion_scripts_are_printed() -> None:
    code, out, _ = invoke("completion", "bash")
    assert code == 0 and "_DUMONT_COMPLETE" in out


def test_a_message_with_brackets_is_printed_as_the_api_wrote_it(scripted: ScriptedApi) -> None:
    message = "unknown GPU type 'X'; choose one of [RTX_4090, A100] or [/red]"
    scripted.answers.append(error(400, "VALIDATION_ERROR", message))
    code, _, err = invoke("show", "inst_1")
    assert code == exit_codes.USAGE
    assert message in err


def test_names_in_a_table_are_shown_as_written(scripted: ScriptedApi) -> None:
    named = {**INSTANCE, "name": "[bold]run[/] 7"}
    scripted.answers.append(envelope([named], meta={"page": 1, "per_page": 100, "total": 1}))
    code, out, _ = invoke("list")
    assert code == 0 and "[bold]run[/] 7" in out.replace("\n", "")


def test_a_short_key_is_masked_too() -> None:
    assert settings.masked("dumont_sk_abcdef") == "dumo…"
    assert settings.masked("dumont_sk_...") == "dumo…"
