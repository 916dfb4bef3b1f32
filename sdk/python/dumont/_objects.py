"""Objects with attributes, read from the API's JSON.

Each class names the OpenAPI schema it reads (`SCHEMA`) and declares the fields it promises as
annotations; a test checks each declared field against the committed OpenAPI document. Fields the
API adds later are still readable as attributes, and `to_dict()` gives the whole answer.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ApiObject:
    SCHEMA: ClassVar[tuple[str, ...]] = ()
    _data: dict[str, Any]

    def __init__(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", dict(data))

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        if name in data:
            return _wrap(data[name])
        if name in _annotations(type(self)):
            return None
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; use the client to change it")

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._data == self._data

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._data.get("id")))

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in list(self._data.items())[:6])
        return f"{type(self).__name__}({shown})"

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def _replace(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", dict(data))


class Record(ApiObject):
    """Any nested object of an answer."""


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


def _annotations(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        names.update(getattr(klass, "__annotations__", {}))
    return names


def declared_fields(cls: type[ApiObject]) -> set[str]:
    """The fields a class promises (its annotations, less the class-level ones)."""
    return {name for name in _annotations(cls) if not name.startswith("_") and name != "SCHEMA"}
