"""The request path on a member's seat: their API keys' digests, and the request counters that one
conditional UpdateItem checks and advances for every request let in.

Each window counts in an attribute of its own (`rl_m{minute}`, `rl_d{day}`), so a new window needs
no reset, which DynamoDB could not do in the same request as the count; past windows' attributes are
removed by a later request's update.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dumont_core.access.models import Seat, SeatUse
from dumont_core.access.repository import seat_from_raw, seat_key
from dumont_core.platform.aws import aws_client
from dumont_core.platform.dynamodb import bound_table, write_refused

MINUTE_COUNTER, DAY_COUNTER, KEY_LAST_USED = "rl_m", "rl_d", "used_"


class _StaleCounters:
    """Counter attributes of past windows seen on seats, to be removed by the seat's next update."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._names: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def take(self, seat: str) -> list[str]:
        with self._lock:
            return self._names.pop(seat, [])

    def remember(self, seat: str, names: list[str]) -> None:
        if not names:
            return
        with self._lock:
            self._names[seat] = names
            while len(self._names) > self._capacity:
                self._names.popitem(last=False)


def _counter_names(minute: int, day: int) -> tuple[str, str]:
    return f"{MINUTE_COUNTER}{minute}", f"{DAY_COUNTER}{day}"


def _stale_counter_names(raw: Mapping[str, Any], minute: int, day: int) -> list[str]:
    current = set(_counter_names(minute, day))
    return sorted(
        name for name in raw if name.startswith((MINUTE_COUNTER, DAY_COUNTER)) and name not in current
    )


class AdmissionRepository:
    def __init__(self) -> None:
        self._stale = _StaleCounters()

    # API keys

    def add_api_key(self, seat: Seat, key_id: str, entry: Mapping[str, str], max_keys: int) -> bool:
        """Store a key's digest in the seat; False when the seat is gone or already holds max_keys."""
        try:
            aws_client("dynamodb").update_item(
                TableName=bound_table(),
                Key=seat_key(seat.team_id, seat.account_id),
                UpdateExpression="SET api_keys.#key = :entry",
                ConditionExpression="attribute_exists(PK) AND size(api_keys) < :max_keys",
                ExpressionAttributeNames={"#key": key_id},
                ExpressionAttributeValues={
                    ":entry": {"M": {name: {"S": value} for name, value in entry.items()}},
                    ":max_keys": {"N": str(max_keys)},
                },
            )
        except ClientError as error:
            if write_refused(error):
                return False
            raise
        return True

    def remove_api_key(self, team_id: str, account_id: str, key_id: str) -> dict[str, Any] | None:
        """Remove a key from its seat; the removed entry, or None if the seat holds no such key."""
        try:
            answer = aws_client("dynamodb").update_item(
                TableName=bound_table(),
                Key=seat_key(team_id, account_id),
                UpdateExpression="REMOVE api_keys.#key, #used",
                ConditionExpression="attribute_exists(api_keys.#key)",
                ExpressionAttributeNames={"#key": key_id, "#used": f"{KEY_LAST_USED}{key_id}"},
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as error:
            if write_refused(error):
                return None
            raise
        entry = _key_entry(answer.get("Attributes", {}), key_id)
        return {name: value.get("S") for name, value in entry.items()}

    def seat_with_key_use(self, team_id: str, account_id: str) -> tuple[Seat, dict[str, datetime]] | None:
        """A seat and when each of its keys was last used, for listing keys (no counting)."""
        raw = (
            aws_client("dynamodb")
            .get_item(TableName=bound_table(), Key=seat_key(team_id, account_id))
            .get("Item")
        )
        if raw is None:
            return None
        return seat_from_raw(raw), _key_last_used(raw)

    # the request path

    def admit(
        self,
        team_id: str,
        account_id: str,
        now: datetime,
        key_id: str | None = None,
        digest: str | None = None,
        token_version: int | None = None,
    ) -> SeatUse | None:
        """Check the caller against their seat and count the request, in one conditional UpdateItem.

        None: no such seat (never a member, or removed), an API key the seat does not hold, or an access
        token older than the seat (`token_version` below the seat's version: issued for a seat since
        removed). A seat use that is not `admitted`: a limit was reached, and nothing was counted.
        """
        epoch = int(now.timestamp())
        minute, day = epoch // 60, epoch // 86_400
        minute_name, day_name = _counter_names(minute, day)
        seat_id = f"{team_id}/{account_id}"
        names = {"#minute": minute_name, "#day": day_name}
        values: dict[str, Any] = {":zero": {"N": "0"}, ":one": {"N": "1"}}
        sets = ["#minute = if_not_exists(#minute, :zero) + :one", "#day = if_not_exists(#day, :zero) + :one"]
        conditions = [
            "attribute_exists(PK)",
            "(attribute_not_exists(#minute) OR #minute < minute_limit)",
            "(attribute_not_exists(day_limit) OR attribute_not_exists(#day) OR #day < day_limit)",
        ]
        if key_id is not None and digest is not None:
            names |= {"#key": key_id, "#used": f"{KEY_LAST_USED}{key_id}"}
            values |= {":digest": {"S": digest}, ":now": {"S": now.isoformat()}}
            sets.append("#used = :now")
            conditions.append("api_keys.#key.digest = :digest")
        if token_version is not None:
            names["#version"] = "version"
            values[":version"] = {"N": str(token_version)}
            conditions.append("(attribute_not_exists(#version) OR #version <= :version)")
        stale = [name for name in self._stale.take(seat_id) if name not in (minute_name, day_name)]
        stale_names = {f"#stale{index}": name for index, name in enumerate(stale)}
        expression = "SET " + ", ".join(sets)
        if stale_names:
            expression += " REMOVE " + ", ".join(stale_names)
        try:
            answer = aws_client("dynamodb").update_item(
                TableName=bound_table(),
                Key=seat_key(team_id, account_id),
                UpdateExpression=expression,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names | stale_names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            raw, admitted = answer["Attributes"], True
        except ClientError as error:
            if not write_refused(error):
                raise
            old_item: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            raw, admitted = old_item, False
            if not raw or not _credential_holds(raw, key_id, digest, token_version):
                return None
        self._stale.remember(seat_id, _stale_counter_names(raw, minute, day))
        return SeatUse(
            seat=seat_from_raw(raw),
            minute=minute,
            minute_count=int(raw.get(minute_name, {}).get("N", "0")),
            day=day,
            day_count=int(raw.get(day_name, {}).get("N", "0")),
            admitted=admitted,
        )


def _key_entry(raw: Mapping[str, Any], key_id: str) -> Mapping[str, Any]:
    """One API key's entry in a seat as DynamoDB answers it; empty when the seat has no such key."""
    entry: Mapping[str, Any] = raw.get("api_keys", {}).get("M", {}).get(key_id, {}).get("M", {})
    return entry


def _credential_holds(
    raw: Mapping[str, Any], key_id: str | None, digest: str | None, token_version: int | None
) -> bool:
    """Whether the seat as it was still takes the credential, so a refusal was the limit's."""
    if key_id is not None and _stored_digest(raw, key_id) != digest:
        return False
    seat_version = int(raw.get("version", {}).get("N", "0"))
    return token_version is None or seat_version <= token_version


def _stored_digest(raw: Mapping[str, Any], key_id: str) -> str | None:
    digest = _key_entry(raw, key_id).get("digest", {}).get("S")
    return str(digest) if digest is not None else None


def _key_last_used(raw: Mapping[str, Any]) -> dict[str, datetime]:
    return {
        name.removeprefix(KEY_LAST_USED): datetime.fromisoformat(value["S"]).astimezone(UTC)
        for name, value in raw.items()
        if name.startswith(KEY_LAST_USED) and "S" in value
    }
