"""Accounts, logins, teams, members' seats and custom roles in the single table (layout in
`platform.table`).

A seat is one member of one team. It holds everything a request needs to be let in, so removing a
seat or a key from it takes effect on the very next request (see `admission`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactGet, TransactWrite

from dumont_core.access.models import Account, Login, Role, Seat, Team
from dumont_core.access.plans import Plan
from dumont_core.platform import table
from dumont_core.platform.aws import aws_client
from dumont_core.platform.dynamodb import (
    IndexedItem,
    bound_table,
    condition_failed,
    get_item,
    item_type,
    shared_connection,
    to_model,
    write_refused,
)
from dumont_core.platform.models import DomainModel

ModelT = TypeVar("ModelT", bound=DomainModel)


class AlreadyExists(Exception):
    pass


class ConcurrentChange(Exception):
    """The item changed between our read and our write; the caller may read again and retry."""


class _TeamsOfAccount(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = table.GSI1_NAME
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


LoginItem = item_type(Login, token_version=NumberAttribute(default=0))
AccountItem = item_type(Account)
# The admin count is kept so the last admin can never be removed or demoted.
TeamItem = item_type(Team, admin_count=NumberAttribute(default=0))
# Keys are a map, so that one is added or removed in place, in the request that checks the limit.
SeatItem = item_type(
    Seat,
    base=IndexedItem,
    teams_of_account=_TeamsOfAccount(),
    api_keys=MapAttribute(default=dict),
    version=NumberAttribute(default=0),
)
RoleItem = item_type(Role)


def seat_from_raw(raw: dict[str, Any]) -> Seat:
    """A seat from the item DynamoDB answered, in its wire format."""
    return to_model(Seat, SeatItem.from_raw_data(raw))


def seat_key(team_id: str, account_id: str) -> dict[str, Any]:
    """The seat's key, as botocore's DynamoDB client takes it."""
    return {"PK": {"S": table.team_key(team_id)}, "SK": {"S": table.member_key(account_id)}}


def _seat_item(seat: Seat) -> Any:
    return SeatItem(
        table.team_key(seat.team_id),
        table.member_key(seat.account_id),
        GSI1PK=table.teams_of_account_key(seat.account_id),
        GSI1SK=table.team_key(seat.team_id),
        **seat.model_dump(),
    )


def _team_item(team: Team, admins: int) -> Any:
    return TeamItem(table.team_key(team.team_id), table.TEAM_RECORD, admin_count=admins, **team.model_dump())


def _team_record(team_id: str) -> Any:
    return TeamItem(table.team_key(team_id), table.TEAM_RECORD)


def _login_record(email: str) -> Any:
    return LoginItem(table.login_key(email), table.LOGIN_RECORD)


def _token_version_is(version: int) -> Any:
    same = LoginItem.token_version == version
    return same | LoginItem.token_version.does_not_exist() if version == 0 else same


class AccessRepository:
    # accounts and teams

    def create_account(self, account: Account, password_hash: str, team: Team, seat: Seat) -> None:
        """The account, its login, its own team and its admin seat, together; AlreadyExists if the
        email is taken."""
        login = LoginItem(
            table.login_key(account.email),
            table.LOGIN_RECORD,
            account_id=account.account_id,
            password_hash=password_hash,
            default_team_id=account.default_team_id,
        )
        account_item = AccountItem(
            table.key("ACCOUNT", account.account_id), table.ACCOUNT_RECORD, **account.model_dump()
        )
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.save(login, condition=LoginItem.PK.does_not_exist())
                transaction.save(account_item, condition=AccountItem.PK.does_not_exist())
                transaction.save(_team_item(team, admins=1), condition=TeamItem.PK.does_not_exist())
                transaction.save(_seat_item(seat), condition=SeatItem.PK.does_not_exist())
        except TransactWriteError as error:
            if condition_failed(error):
                raise AlreadyExists(account.email) from None
            raise

    def create_team(self, team: Team, seat: Seat) -> None:
        with TransactWrite(connection=shared_connection()) as transaction:
            transaction.save(_team_item(team, admins=1), condition=TeamItem.PK.does_not_exist())
            transaction.save(_seat_item(seat), condition=SeatItem.PK.does_not_exist())

    def login(self, email: str) -> Login | None:
        item = get_item(LoginItem, table.login_key(email), table.LOGIN_RECORD)
        return None if item is None else to_model(Login, item)

    def seat(self, team_id: str, account_id: str) -> Seat | None:
        item = get_item(SeatItem, table.team_key(team_id), table.member_key(account_id))
        return None if item is None else to_model(Seat, item)

    def seats_of_account(self, account_id: str) -> list[Seat]:
        return [
            to_model(Seat, item)
            for item in SeatItem.teams_of_account.query(table.teams_of_account_key(account_id))
        ]

    def team(self, team_id: str) -> Team | None:
        item = get_item(TeamItem, table.team_key(team_id), table.TEAM_RECORD)
        return None if item is None else to_model(Team, item)

    def team_with_members(self, team_id: str) -> tuple[Team | None, list[Seat]]:
        """The team and its seats: a GetItem and one Query over the seats alone, since the team's
        partition also holds its instances, snapshots and a year of hibernation records."""
        item = get_item(TeamItem, table.team_key(team_id), table.TEAM_RECORD)
        seats: list[Seat] = []
        request: dict[str, Any] = {
            "TableName": bound_table(),
            "KeyConditionExpression": "PK = :team AND begins_with(SK, :member)",
            "ExpressionAttributeValues": {
                ":team": {"S": table.team_key(team_id)},
                ":member": {"S": table.MEMBER_PREFIX},
            },
        }
        while True:
            page = aws_client("dynamodb").query(**request)
            seats.extend(seat_from_raw(raw) for raw in page["Items"])
            if "LastEvaluatedKey" not in page:
                return (to_model(Team, item) if item else None), seats
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def seats_and_email_owner(
        self, team_id: str, caller_id: str, email: str
    ) -> tuple[Seat | None, Team | None, Login | None]:
        """The caller's seat, the team and the login of an email, in one request."""
        with TransactGet(connection=shared_connection()) as transaction:
            caller = transaction.get(SeatItem, table.team_key(team_id), table.member_key(caller_id))
            team = transaction.get(TeamItem, table.team_key(team_id), table.TEAM_RECORD)
            login = transaction.get(LoginItem, table.login_key(email), table.LOGIN_RECORD)
        return _found(Seat, caller), _found(Team, team), _found(Login, login)

    def add_seat(self, seat: Seat, *, is_admin: bool) -> None:
        """The seat, made under the account's token version as the caller read it; AlreadyExists if the
        member is already in the team or left it meanwhile (the version moved on)."""
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.save(_seat_item(seat), condition=SeatItem.PK.does_not_exist())
                transaction.condition_check(
                    LoginItem,
                    table.login_key(seat.email),
                    table.LOGIN_RECORD,
                    condition=_token_version_is(seat.version),
                )
                transaction.update(
                    _team_record(seat.team_id),
                    actions=[TeamItem.admin_count.add(1 if is_admin else 0)],
                    condition=TeamItem.PK.exists(),
                )
        except TransactWriteError as error:
            if condition_failed(error):
                raise AlreadyExists(seat.account_id) from None
            raise

    def change_role(
        self, seat: Seat, role: str, custom_permissions: list[str] | None, admin_delta: int
    ) -> None:
        """Give the seat another role; refused (ConcurrentChange) if the seat changed meanwhile or the
        team would be left without an admin."""
        self._write_seat_change(seat, admin_delta, remove=False, role=role, permissions=custom_permissions)

    def remove_seat(self, seat: Seat, admin_delta: int) -> None:
        self._write_seat_change(seat, admin_delta, remove=True)

    def _write_seat_change(
        self,
        seat: Seat,
        admin_delta: int,
        *,
        remove: bool,
        role: str = "",
        permissions: list[str] | None = None,
    ) -> None:
        unchanged = SeatItem.PK.exists() & (SeatItem.role == seat.role)
        item = SeatItem(table.team_key(seat.team_id), table.member_key(seat.account_id))
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                if remove:
                    transaction.delete(item, condition=unchanged)
                    # Tokens issued so far are older than any seat the account is given from now on.
                    transaction.update(
                        _login_record(seat.email),
                        actions=[LoginItem.token_version.add(1)],
                        condition=LoginItem.PK.exists(),
                    )
                else:
                    transaction.update(
                        item,
                        actions=[
                            SeatItem.role.set(role),
                            SeatItem.custom_permissions.set(permissions)
                            if permissions is not None
                            else SeatItem.custom_permissions.remove(),
                        ],
                        condition=unchanged,
                    )
                transaction.update(
                    _team_record(seat.team_id),
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

    def change_plan(self, team: Team, seats: list[Seat], plan: Plan) -> None:
        """The team's plan and every seat's limits, on condition that the team is still on the plan it
        was read with and every seat still exists: ConcurrentChange if not. One transaction for up to
        99 seats (the team's record first); a larger team's other seats in further ones."""
        batches = [seats[start : start + 99] for start in range(0, max(len(seats), 1), 99)]
        for number, batch in enumerate(batches):
            try:
                with TransactWrite(connection=shared_connection()) as transaction:
                    if number == 0:
                        transaction.update(
                            _team_record(team.team_id),
                            actions=[TeamItem.plan.set(plan.name)],
                            condition=TeamItem.plan == team.plan,
                        )
                    for seat in batch:
                        transaction.update(
                            SeatItem(table.team_key(seat.team_id), table.member_key(seat.account_id)),
                            actions=_plan_actions(plan),
                            condition=SeatItem.PK.exists(),
                        )
            except TransactWriteError as error:
                if condition_failed(error):
                    raise ConcurrentChange(team.team_id) from None
                raise

    # roles

    def create_role(self, team_id: str, role: Role) -> None:
        item = RoleItem(table.team_key(team_id), table.key("ROLE", role.name), **role.model_dump())
        try:
            item.save(condition=RoleItem.PK.does_not_exist())
        except PutError as error:
            if write_refused(error):
                raise AlreadyExists(role.name) from None
            raise

    def role(self, team_id: str, name: str) -> Role | None:
        item = get_item(RoleItem, table.team_key(team_id), table.key("ROLE", name))
        return None if item is None else to_model(Role, item)

    def roles(self, team_id: str) -> list[Role]:
        items = RoleItem.query(table.team_key(team_id), RoleItem.SK.startswith(table.ROLE_PREFIX))
        return [to_model(Role, item) for item in items]


def _plan_actions(plan: Plan) -> list[Any]:
    day_limit = (
        SeatItem.day_limit.set(plan.requests_per_day)
        if plan.requests_per_day is not None
        else SeatItem.day_limit.remove()
    )
    return [SeatItem.plan.set(plan.name), SeatItem.minute_limit.set(plan.requests_per_minute), day_limit]


def _found(model: type[ModelT], pending: Any) -> ModelT | None:
    """What a transactional get found, or None."""
    try:
        return to_model(model, pending.get())
    except DoesNotExist:
        return None
