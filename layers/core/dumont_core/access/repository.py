"""Accounts, teams, members' seats, custom roles and API keys in the single table.

| item        | PK                 | SK               | GSI1PK / GSI1SK                          |
|-------------|--------------------|------------------|------------------------------------------|
| login       | `EMAIL#{email}`    | `EMAIL`          |                                          |
| account     | `ACCOUNT#{id}`     | `ACCOUNT`        |                                          |
| team        | `TEAM#{team_id}`   | `TEAM`           |                                          |
| seat        | `TEAM#{team_id}`   | `MEMBER#{acct}`  | `ACCOUNT#{acct}#TEAMS` / `TEAM#{team}`   |
| custom role | `TEAM#{team_id}`   | `ROLE#{name}`    |                                          |

A seat is one member of one team. It holds everything a request needs to be let in: the role and
its permissions, the plan's limits, the digests of the member's API keys in that team, and the
request counters. So one conditional UpdateItem on the seat both checks the caller and counts the
request (`admit`), and removing a seat or a key from it takes effect on the very next request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactGet, TransactWrite

from dumont_core.aws_clients import aws_client
from dumont_core.data import table
from dumont_core.data.instances import TableItem, condition_failed, shared_connection, write_refused


class AlreadyExists(Exception):
    pass


class ConcurrentChange(Exception):
    """The item changed between our read and our write; the caller may read again and retry."""


class LoginItem(TableItem):
    """What login reads, in one GetItem: the password hash and whose it is."""

    account_id = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    default_team_id = UnicodeAttribute()


class AccountItem(TableItem):
    account_id = UnicodeAttribute()
    email = UnicodeAttribute()
    default_team_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class TeamItem(TableItem):
    team_id = UnicodeAttribute()
    name = UnicodeAttribute()
    plan = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    admin_count = NumberAttribute(default=0)
    """Kept so the last admin can never be removed or demoted."""


class _TeamsOfAccount(GlobalSecondaryIndex["SeatItem"]):
    class Meta:
        index_name = table.GSI1_NAME
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class SeatItem(TableItem):
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    teams_of_account = _TeamsOfAccount()

    team_id = UnicodeAttribute()
    team_name = UnicodeAttribute()
    account_id = UnicodeAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    custom_permissions = ListAttribute[str](null=True)
    """A custom role's permissions, copied when the role is given; system roles are read from code."""
    plan = UnicodeAttribute()
    minute_limit = NumberAttribute()
    day_limit = NumberAttribute(null=True)
    usage_key_id = UnicodeAttribute(null=True)
    usage_key = UnicodeAttribute(null=True)
    """The member's API Gateway key, named to API Gateway by the authorizer; never shown to callers."""
    joined_at = UTCDateTimeAttribute()
    api_keys = MapAttribute[str, Any](default=dict)
    """key id -> {digest, name, prefix, created_at (ISO 8601)}; the whole key is never stored."""


class RoleItem(TableItem):
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    permissions = ListAttribute[str]()
    created_at = UTCDateTimeAttribute()


def team_key(team_id: str) -> str:
    return f"TEAM#{team_id}"


def seat_sort_key(account_id: str) -> str:
    return f"MEMBER#{account_id}"


def login_key(email: str) -> str:
    return f"EMAIL#{email.lower()}"


def _account_key(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


MINUTE_COUNTER, DAY_COUNTER, KEY_LAST_USED = "rl_m", "rl_d", "used_"


@dataclass(frozen=True)
class SeatUse:
    """A seat as one request found it, and that request's place in the seat's counters."""

    seat: SeatItem
    key_last_used: dict[str, datetime]
    minute: int
    minute_count: int
    day: int
    day_count: int
    admitted: bool
    """False: a window's limit was reached; nothing was counted."""


class _StaleCounters:
    """Counter attributes of past windows seen on seats, removed by the seat's next update.

    Each window counts in its own attribute, so a new window needs no reset (which DynamoDB could not
    do in the same request as the count). Past windows are removed as later requests go by.
    """

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
        name for name in raw if (name.startswith((MINUTE_COUNTER, DAY_COUNTER))) and name not in current
    )


class AccessRepository:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name
        for model in (TableItem, LoginItem, AccountItem, TeamItem, SeatItem, RoleItem):
            model.Meta.table_name = table_name
        self._stale = _StaleCounters()

    # accounts and teams

    def create_account(
        self, account: AccountItem, password_hash: str, team: TeamItem, seat: SeatItem
    ) -> None:
        """The account, its login, its own team and its admin seat, together; AlreadyExists if the
        email is taken."""
        account.PK, account.SK = _account_key(account.account_id), "ACCOUNT"
        login = LoginItem(
            login_key(account.email),
            "EMAIL",
            account_id=account.account_id,
            password_hash=password_hash,
            default_team_id=account.default_team_id,
        )
        self._prepare_team(team)
        self._prepare_seat(seat)
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.save(login, condition=LoginItem.PK.does_not_exist())
                transaction.save(account, condition=AccountItem.PK.does_not_exist())
                transaction.save(team, condition=TeamItem.PK.does_not_exist())
                transaction.save(seat, condition=SeatItem.PK.does_not_exist())
        except TransactWriteError as error:
            if condition_failed(error):
                raise AlreadyExists(account.email) from None
            raise

    def create_team(self, team: TeamItem, seat: SeatItem) -> None:
        self._prepare_team(team)
        self._prepare_seat(seat)
        with TransactWrite(connection=shared_connection()) as transaction:
            transaction.save(team, condition=TeamItem.PK.does_not_exist())
            transaction.save(seat, condition=SeatItem.PK.does_not_exist())

    def login(self, email: str) -> LoginItem | None:
        try:
            return LoginItem.get(login_key(email), "EMAIL")
        except DoesNotExist:
            return None

    @staticmethod
    def _prepare_team(team: TeamItem) -> None:
        team.PK, team.SK = team_key(team.team_id), "TEAM"
        team.admin_count = 1

    @staticmethod
    def _prepare_seat(seat: SeatItem) -> None:
        seat.PK, seat.SK = team_key(seat.team_id), seat_sort_key(seat.account_id)
        seat.GSI1PK, seat.GSI1SK = f"ACCOUNT#{seat.account_id}#TEAMS", team_key(seat.team_id)

    def seat(self, team_id: str, account_id: str) -> SeatItem | None:
        try:
            return SeatItem.get(team_key(team_id), seat_sort_key(account_id))
        except DoesNotExist:
            return None

    def seats_of_account(self, account_id: str) -> list[SeatItem]:
        return list(SeatItem.teams_of_account.query(f"ACCOUNT#{account_id}#TEAMS"))

    def team_with_members(self, team_id: str) -> tuple[TeamItem | None, list[SeatItem], list[RoleItem]]:
        """The team, its seats and its custom roles: one Query over the team's partition."""
        team: TeamItem | None = None
        seats: list[SeatItem] = []
        roles: list[RoleItem] = []
        for raw in self._team_partition(team_id):
            sort_key = raw["SK"]["S"]
            if sort_key == "TEAM":
                team = TeamItem.from_raw_data(raw)
            elif sort_key.startswith("MEMBER#"):
                seats.append(SeatItem.from_raw_data(raw))
            elif sort_key.startswith("ROLE#"):
                roles.append(RoleItem.from_raw_data(raw))
        return team, seats, roles

    def _team_partition(self, team_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "PK = :team",
            "ExpressionAttributeValues": {":team": {"S": team_key(team_id)}},
        }
        while True:
            page = aws_client("dynamodb").query(**request)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def seats_and_email_owner(
        self, team_id: str, caller_id: str, email: str
    ) -> tuple[SeatItem | None, TeamItem | None, LoginItem | None]:
        """The caller's seat, the team and the login of an email, in one request."""
        with TransactGet(connection=shared_connection()) as transaction:
            caller = transaction.get(SeatItem, team_key(team_id), seat_sort_key(caller_id))
            team = transaction.get(TeamItem, team_key(team_id), "TEAM")
            login = transaction.get(LoginItem, login_key(email), "EMAIL")
        return _model_or_none(caller), _model_or_none(team), _model_or_none(login)

    def two_seats(self, team_id: str, first: str, second: str) -> tuple[SeatItem | None, SeatItem | None]:
        with TransactGet(connection=shared_connection()) as transaction:
            one = transaction.get(SeatItem, team_key(team_id), seat_sort_key(first))
            two = transaction.get(SeatItem, team_key(team_id), seat_sort_key(second))
        return _model_or_none(one), _model_or_none(two)

    def add_seat(self, seat: SeatItem, *, is_admin: bool) -> None:
        self._prepare_seat(seat)
        team = TeamItem(team_key(seat.team_id), "TEAM")
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.save(seat, condition=SeatItem.PK.does_not_exist())
                transaction.update(
                    team,
                    actions=[TeamItem.admin_count.add(1 if is_admin else 0)],
                    condition=TeamItem.PK.exists(),
                )
        except TransactWriteError as error:
            if condition_failed(error):
                raise AlreadyExists(seat.account_id) from None
            raise

    def change_role(
        self, seat: SeatItem, role: str, custom_permissions: list[str] | None, admin_delta: int
    ) -> None:
        """Give the seat another role; refused (ConcurrentChange) if the seat changed meanwhile or the
        team would be left without an admin."""
        self._write_seat_change(seat, admin_delta, remove=False, role=role, permissions=custom_permissions)

    def remove_seat(self, seat: SeatItem, admin_delta: int) -> None:
        self._write_seat_change(seat, admin_delta, remove=True)

    def _write_seat_change(
        self,
        seat: SeatItem,
        admin_delta: int,
        *,
        remove: bool,
        role: str = "",
        permissions: list[str] | None = None,
    ) -> None:
        unchanged = SeatItem.PK.exists() & (SeatItem.role == seat.role)
        team = TeamItem(team_key(seat.team_id), "TEAM")
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                if remove:
                    transaction.delete(seat, condition=unchanged)
                else:
                    transaction.update(
                        seat,
                        actions=[
                            SeatItem.role.set(role),
                            SeatItem.custom_permissions.set(permissions)
                            if permissions is not None
                            else SeatItem.custom_permissions.remove(),
                        ],
                        condition=unchanged,
                    )
                transaction.update(
                    team,
                    actions=[TeamItem.admin_count.add(admin_delta)],
                    # Losing an admin needs another one left.
                    condition=TeamItem.admin_count > -admin_delta
                    if admin_delta < 0
                    else TeamItem.PK.exists(),
                )
        except TransactWriteError as error:
            if condition_failed(error):
                raise ConcurrentChange(seat.account_id) from None
            raise

    # roles

    def create_role(self, team_id: str, role: RoleItem) -> None:
        role.PK, role.SK = team_key(team_id), f"ROLE#{role.name}"
        try:
            role.save(condition=RoleItem.PK.does_not_exist())
        except PutError as error:
            if write_refused(error):
                raise AlreadyExists(role.name) from None
            raise

    def role(self, team_id: str, name: str) -> RoleItem | None:
        try:
            return RoleItem.get(team_key(team_id), f"ROLE#{name}")
        except DoesNotExist:
            return None

    def roles(self, team_id: str) -> list[RoleItem]:
        return list(RoleItem.query(team_key(team_id), RoleItem.SK.startswith("ROLE#")))

    # API keys

    def add_api_key(self, seat: SeatItem, key_id: str, entry: Mapping[str, str], max_keys: int) -> bool:
        """Store a key's digest in the seat; False when the seat is gone or already holds max_keys."""
        try:
            aws_client("dynamodb").update_item(
                TableName=self._table_name,
                Key={"PK": {"S": team_key(seat.team_id)}, "SK": {"S": seat_sort_key(seat.account_id)}},
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
                TableName=self._table_name,
                Key={"PK": {"S": team_key(team_id)}, "SK": {"S": seat_sort_key(account_id)}},
                UpdateExpression="REMOVE api_keys.#key, #used",
                ConditionExpression="attribute_exists(api_keys.#key)",
                ExpressionAttributeNames={"#key": key_id, "#used": f"{KEY_LAST_USED}{key_id}"},
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as error:
            if write_refused(error):
                return None
            raise
        entry = answer.get("Attributes", {}).get("api_keys", {}).get("M", {}).get(key_id, {}).get("M", {})
        return {name: value.get("S") for name, value in entry.items()}

    def seat_with_key_use(self, team_id: str, account_id: str) -> tuple[SeatItem, dict[str, datetime]] | None:
        """A seat and when each of its keys was last used, for listing keys (no counting)."""
        raw = (
            aws_client("dynamodb")
            .get_item(
                TableName=self._table_name,
                Key={"PK": {"S": team_key(team_id)}, "SK": {"S": seat_sort_key(account_id)}},
            )
            .get("Item")
        )
        if raw is None:
            return None
        return SeatItem.from_raw_data(raw), _key_last_used(raw)

    # the request path

    def admit(
        self,
        team_id: str,
        account_id: str,
        now: datetime,
        key_id: str | None = None,
        digest: str | None = None,
    ) -> SeatUse | None:
        """Check the caller against their seat and count the request, in one conditional UpdateItem.

        None: no such seat (never a member, or removed), or an API key the seat does not hold. A seat
        use that is not `admitted`: a limit was reached, and nothing was counted.
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
        stale = [name for name in self._stale.take(seat_id) if name not in (minute_name, day_name)]
        stale_names = {f"#stale{index}": name for index, name in enumerate(stale)}
        expression = "SET " + ", ".join(sets)
        if stale_names:
            expression += " REMOVE " + ", ".join(stale_names)
        try:
            answer = aws_client("dynamodb").update_item(
                TableName=self._table_name,
                Key={"PK": {"S": team_key(team_id)}, "SK": {"S": seat_sort_key(account_id)}},
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
            if not raw or (key_id is not None and _stored_digest(raw, key_id) != digest):
                return None
        self._stale.remember(seat_id, _stale_counter_names(raw, minute, day))
        return SeatUse(
            seat=SeatItem.from_raw_data(raw),
            key_last_used=_key_last_used(raw),
            minute=minute,
            minute_count=int(raw.get(minute_name, {}).get("N", "0")),
            day=day,
            day_count=int(raw.get(day_name, {}).get("N", "0")),
            admitted=admitted,
        )


def _stored_digest(raw: Mapping[str, Any], key_id: str) -> str | None:
    entry = raw.get("api_keys", {}).get("M", {}).get(key_id, {}).get("M", {})
    digest = entry.get("digest", {}).get("S")
    return str(digest) if digest is not None else None


def _key_last_used(raw: Mapping[str, Any]) -> dict[str, datetime]:
    return {
        name.removeprefix(KEY_LAST_USED): datetime.fromisoformat(value["S"]).astimezone(UTC)
        for name, value in raw.items()
        if name.startswith(KEY_LAST_USED) and "S" in value
    }


def _model_or_none(model: Any) -> Any:
    try:
        return model.get()
    except DoesNotExist:
        return None
