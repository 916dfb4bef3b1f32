"""Accounts, email reservations and API keys in the single table.

| item        | PK                 | SK        | GSI1PK / GSI1SK                              |
|-------------|--------------------|-----------|----------------------------------------------|
| account     | `ACCOUNT#{id}`     | `ACCOUNT` |                                              |
| email       | `EMAIL#{email}`    | `EMAIL`   |                                              |
| API key     | `APIKEY#{sha256}`  | `APIKEY`  | `ACCOUNT#{id}#APIKEYS` / `APIKEY#{key_id}`   |

A key is found by the digest of what the caller sent (one GetItem); an account's keys by GSI1.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from dumont_core.data import table
from dumont_core.data.instances import TableItem, condition_failed, shared_connection


class EmailTaken(Exception):
    pass


class AccountItem(TableItem):
    account_id = UnicodeAttribute()
    email = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    team_id = UnicodeAttribute()
    plan = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class EmailItem(TableItem):
    account_id = UnicodeAttribute()


class _KeysOfAccount(GlobalSecondaryIndex["ApiKeyItem"]):
    class Meta:
        index_name = table.GSI1_NAME
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class ApiKeyItem(TableItem):
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    keys_of_account = _KeysOfAccount()

    key_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    team_id = UnicodeAttribute()
    role = UnicodeAttribute()
    plan = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)


def _email_key(email: str) -> str:
    return f"EMAIL#{email.lower()}"


class AccessRepository:
    def __init__(self, table_name: str) -> None:
        for model in (TableItem, AccountItem, EmailItem, ApiKeyItem):
            model.Meta.table_name = table_name

    def create_account(self, account: AccountItem) -> None:
        """Store the account and reserve its email together; EmailTaken if someone has it."""
        account.PK, account.SK = f"ACCOUNT#{account.account_id}", "ACCOUNT"
        reservation = EmailItem(_email_key(account.email), "EMAIL", account_id=account.account_id)
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.save(reservation, condition=EmailItem.PK.does_not_exist())
                transaction.save(account, condition=AccountItem.PK.does_not_exist())
        except TransactWriteError as error:
            if condition_failed(error):
                raise EmailTaken(account.email) from None
            raise

    def account_by_email(self, email: str) -> AccountItem | None:
        try:
            reservation = EmailItem.get(_email_key(email), "EMAIL")
            return AccountItem.get(f"ACCOUNT#{reservation.account_id}", "ACCOUNT")
        except DoesNotExist:
            return None

    def save_api_key(self, digest: str, key: ApiKeyItem) -> None:
        key.PK, key.SK = f"APIKEY#{digest}", "APIKEY"
        key.GSI1PK, key.GSI1SK = f"ACCOUNT#{key.account_id}#APIKEYS", f"APIKEY#{key.key_id}"
        try:
            key.save(condition=ApiKeyItem.PK.does_not_exist())
        except PutError as error:
            raise RuntimeError("API key digest collision") from error

    def api_key(self, digest: str) -> ApiKeyItem | None:
        try:
            return ApiKeyItem.get(f"APIKEY#{digest}", "APIKEY")
        except DoesNotExist:
            return None

    def api_keys_of(self, account_id: str) -> list[ApiKeyItem]:
        return list(ApiKeyItem.keys_of_account.query(f"ACCOUNT#{account_id}#APIKEYS"))

    def revoke_api_key(self, key: ApiKeyItem, now: datetime) -> None:
        key.update(
            actions=[ApiKeyItem.revoked_at.set(now)],
            condition=ApiKeyItem.PK.exists() & ApiKeyItem.revoked_at.does_not_exist(),
        )
