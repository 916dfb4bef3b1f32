"""Where the CLI's key and API address come from: the environment first, then the config file in the
user's config directory (`dumont config set-key`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click

from dumont import Client
from dumont.errors import AuthenticationError

APP_NAME = "dumont"
KEY_VARIABLE = "DUMONT_API_KEY"
URL_VARIABLE = "DUMONT_API_URL"


def config_path() -> Path:
    """`~/.config/dumont/config.json` on Linux ($XDG_CONFIG_HOME honoured), the platform's own elsewhere."""
    return Path(click.get_app_dir(APP_NAME)) / "config.json"


def read_file() -> dict[str, str]:
    path = config_path()
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read {path}: {error}; fix or delete it") from None
    return {key: str(value) for key, value in loaded.items()} if isinstance(loaded, dict) else {}


def write_file(**changes: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {**read_file(), **changes}
    # Created readable by its owner only: it holds an API key.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(merged, file, indent=2)
        file.write("\n")
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class Setting:
    value: str | None
    source: str  # "environment (DUMONT_API_KEY)", the config file's path, or "default"


def api_key() -> Setting:
    if from_environment := os.environ.get(KEY_VARIABLE, "").strip():
        return Setting(from_environment, f"environment ({KEY_VARIABLE})")
    if from_file := read_file().get("api_key"):
        return Setting(from_file, str(config_path()))
    return Setting(None, "not set")


def api_url() -> Setting:
    if from_environment := os.environ.get(URL_VARIABLE, "").strip():
        return Setting(from_environment, f"environment ({URL_VARIABLE})")
    if from_file := read_file().get("api_url"):
        return Setting(from_file, str(config_path()))
    return Setting(None, "default")


def masked(key: str) -> str:
    """Enough of a key to tell keys apart, never the key: its prefix and last four characters (only the
    first four of a key too short to keep most of it hidden so)."""
    if len(key) < 24:
        return key[:4] + "…"
    return f"{key[:14]}…{key[-4:]}"


def client() -> Client:
    key = api_key().value
    if not key:
        raise AuthenticationError(
            f"no API key: run `dumont config set-key dumont_sk_...` or set {KEY_VARIABLE}",
            code="UNAUTHENTICATED",
        )
    return Client(api_key=key, base_url=api_url().value)
