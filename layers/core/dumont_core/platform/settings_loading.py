"""How settings models are read from the environment: once per process, with errors that name each
variable and never echo its value (`dumont_core.platform.settings` holds the models)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class SettingsError(RuntimeError):
    """The environment lacks a variable a function needs, or holds one it cannot read."""


class EnvironmentSettings(BaseModel):
    """A group of settings, each field read from the environment variable its alias names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)


SettingsT = TypeVar("SettingsT", bound=EnvironmentSettings)


def settings_from(model: type[SettingsT], environment: Mapping[str, str]) -> SettingsT:
    """`model` read from `environment`; SettingsError names every missing or malformed variable."""
    try:
        return model.model_validate(dict(environment))
    except ValidationError as error:
        raise SettingsError(_explain(model, error)) from None


_loaded: list[EnvironmentSettings] = []


@cache
def load_settings(model: type[SettingsT]) -> SettingsT:
    """`model` read from this process's environment, once. A group of settings that a model already
    loaded includes (a function's own model includes every group it uses) is that same object."""
    for loaded in _loaded:
        if isinstance(loaded, model):
            return loaded
    settings = settings_from(model, os.environ)
    _loaded.append(settings)
    return settings


def forget_settings() -> None:
    """Read the environment again on the next load (after it changed, as on a new cold start)."""
    _loaded.clear()
    load_settings.cache_clear()


def _explain(model: type[EnvironmentSettings], error: ValidationError) -> str:
    # Built from the locations alone: pydantic's own text would echo the whole environment, secrets too.
    problems = []
    for problem in error.errors(include_input=False, include_url=False):
        variable = str(problem["loc"][0]) if problem["loc"] else "?"
        field = _field_for_alias(model, variable)
        what = f" ({field.description})" if field is not None and field.description else ""
        if problem["type"] == "missing":
            problems.append(f"{variable} is not set{what}")
        else:
            problems.append(f"{variable} is invalid: {problem['msg']}{what}")
    return f"{model.__name__}: " + "; ".join(problems)


def _field_for_alias(model: type[EnvironmentSettings], alias: str) -> Any:
    return next((field for field in model.model_fields.values() if field.alias == alias), None)
