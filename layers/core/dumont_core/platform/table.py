"""The single DynamoDB table: its keys and indexes, every item type's keys, and the functions that build
them. Shared by the CDK app, the local stack and every repository; it imports nothing beyond the
standard library, so synthesizing the stack needs no runtime package.

Item types (access patterns first: a request is one or two key reads or queries, never a Scan):

| item               | PK                       | SK                                      |
|--------------------|--------------------------|-----------------------------------------|
| instance           | `TEAM#{team_id}`         | `INSTANCE#{instance_id}`                |
| instance event     | `INSTANCE#{instance_id}` | `EVENT#{timestamp}#{random}`            |
| metric sample      | `INSTANCE#{instance_id}` | `METRIC#{timestamp}`                    |
| hourly rollup      | `INSTANCE#{instance_id}` | `METRICH#{hour}`                        |
| agent action       | `INSTANCE#{instance_id}` | `ACTION#{action_id}`                    |
| standby's action   | `INSTANCE#{instance_id}` | `STANDBY_ACTION#{action_id}`            |
| login              | `EMAIL#{email}`          | `EMAIL`                                 |
| account            | `ACCOUNT#{account_id}`   | `ACCOUNT`                               |
| team               | `TEAM#{team_id}`         | `TEAM`                                  |
| seat (a member)    | `TEAM#{team_id}`         | `MEMBER#{account_id}`                   |
| custom role        | `TEAM#{team_id}`         | `ROLE#{name}`                           |
| snapshot           | `TEAM#{team_id}`         | `SNAPSHOT#{snapshot_id}`                |
| chunk sweep lease  | `TEAM#{team_id}`         | `CHUNKGC`                               |
| team to sweep      | `SWEEP`                  | `{team_id}`                             |
| hibernation record | `TEAM#{team_id}`         | `HIBERNATION#{timestamp}#{instance_id}` |
| serverless watch   | `SERVERLESS#{0..7}`      | `{team_id}#{instance_id}`               |
| running instance   | `RUNNING#{0..7}`         | `{team_id}#{instance_id}`               |
| unsettled instance | `UNSETTLED#{0..7}`       | `{team_id}#{instance_id}`               |
| balance            | `TEAM#{team_id}`         | `BALANCE`                               |
| meter watermark    | `TEAM#{team_id}`         | `METER#{instance_id}`                   |
| ledger line        | `TEAM#{team_id}`         | `LEDGER#{day}#{charge|credit}#{id}`     |
| ledger total       | `TEAM#{team_id}`         | `ROLLUP#{D#day|M#month|ALL}#{kind}#{gpu}#{gpus}` |
| payment credited   | `TEAM#{team_id}`         | `PAYMENT#{payment_id}`                  |
| idempotency record | `IDEMPOTENCY#api`        | Powertools' hash of the request         |
| attempt counter    | `ATTEMPTS#{kind}#{subject}` | `WINDOW#{window start, epoch seconds}` |
| webhook            | `TEAM#{team_id}`         | `WEBHOOK#{webhook_id}`                  |
| webhook delivery   | `WEBHOOK#{webhook_id}`   | `DELIVERY#{delivery_id}` (sorts by time) |
| live connection    | `CONNECTION#{connection_id}` | `CONNECTION`                        |
| price point        | `MARKET#{gpu_type}`      | `POINT#{timestamp}#{provider}`          |
| hourly price rollup| `MARKET#{gpu_type}`      | `HOUR#{hour}#{provider}`                |
| daily price rollup | `MARKET#{gpu_type}`      | `DAY#{day}`                             |
| latest prices      | `MARKET`                 | `LATEST#{gpu_type}#{provider}`          |
| price rollup mark  | `MARKET`                 | `ROLLEDUP`                              |
| the market an hour | `MARKET`                 | `HOUR#{hour}`                           |
| provider's uptime  | `UPTIME`                 | `DAY#{day}#{provider}`                  |

GSI1: an instance is indexed as `INSTANCE#{instance_id}` / `INSTANCE`, a seat as
`ACCOUNT#{account_id}#TEAMS` / `TEAM#{team_id}`.

- a team's instances, snapshots, members or roles: Query PK=`TEAM#…`, SK begins_with the kind;
- one item of a team: GetItem;
- an instance's timeline, metrics or actions: Query PK=`INSTANCE#…`, SK begins_with the kind;
- an instance by id alone (workflows, agents): Query GSI1 on `INSTANCE#{id}`;
- the teams of an account: Query GSI1 on `ACCOUNT#{id}#TEAMS`;
- every running instance (the interruption watch): Query each `RUNNING#…` partition; the item is
  written and removed in the transaction that moves the instance into or out of `running`.
- every instance whose billing changed since the meter last settled it: Query each `UNSETTLED#…`
  partition; the item is written in the transaction of the change, and removed once settled.
- a team's history over a period: Query PK=`TEAM#…`, SK between `LEDGER#{first day}` and
  `LEDGER#{last day}~`, newest first, a page at a time; its totals over days, months or all time: Query
  SK between two `ROLLUP#D#…`/`ROLLUP#M#…` keys, or begins_with `ROLLUP#ALL#`;
- the market now: Query PK=`MARKET`, SK begins_with `LATEST#`; a GPU type's prices over a period:
  Query PK=`MARKET#{gpu_type}` between two points', two hours' or two days' keys;
- failed logins of an account or an address, registrations of an address: UpdateItem on the window's
  counter (see `access.attempts`).
- the webhooks of an event's team (the fan-out): Query PK=`TEAM#…`, SK begins_with `WEBHOOK#`; a
  webhook's delivery log: Query PK=`WEBHOOK#…`, newest first.
- the WebSocket connections watching an instance's live metrics (each heartbeat): the `watchers` set of
  the instance's item, which the heartbeat reads anyway; the instance of a connection (when it
  closes): GetItem on `CONNECTION#…`.
Events, samples, rollups, price points and their rollups, actions, hibernation records, leases,
idempotency records, attempt counters, webhook deliveries and live connections expire through the TTL
attribute.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

PARTITION_KEY = "PK"
SORT_KEY = "SK"
GSI1_NAME = "GSI1"
GSI1_PARTITION_KEY = "GSI1PK"
GSI1_SORT_KEY = "GSI1SK"
TTL_ATTRIBUTE = "expires_at"

KEY_ATTRIBUTES: tuple[str, ...] = (PARTITION_KEY, SORT_KEY, GSI1_PARTITION_KEY, GSI1_SORT_KEY)

# Fixed sort keys and partitions.
TEAM_RECORD = "TEAM"
ACCOUNT_RECORD = "ACCOUNT"
LOGIN_RECORD = "EMAIL"
INSTANCE_INDEX_RECORD = "INSTANCE"
SWEEP_LEASE_RECORD = "CHUNKGC"
BALANCE_RECORD = "BALANCE"
SWEEP_PARTITION = "SWEEP"
IDEMPOTENCY_PARTITION = "IDEMPOTENCY#api"
MARKET_PARTITION = "MARKET"
MARKET_ROLLUP_MARK = "ROLLEDUP"
WATCH_PARTITIONS = 8
RUNNING_PARTITIONS = 8
UNSETTLED_PARTITIONS = 8


def key(*parts: object) -> str:
    """A key made of its kind and its values: `key("TEAM", team_id)` is `TEAM#{team_id}`. Times are
    written in ISO 8601, which sorts as time does."""
    return "#".join(part.isoformat() if isinstance(part, datetime) else str(part) for part in parts)


def team_key(team_id: str) -> str:
    return key("TEAM", team_id)


def instance_key(instance_id: str) -> str:
    """An instance's partition (timeline, metrics, actions), its sort key in its team, its GSI1 key."""
    return key("INSTANCE", instance_id)


def login_key(email: str) -> str:
    return key("EMAIL", email.lower())


def teams_of_account_key(account_id: str) -> str:
    return key("ACCOUNT", account_id, "TEAMS")


def member_key(account_id: str) -> str:
    return key("MEMBER", account_id)


def bucket_of(instance_id: str, partitions: int) -> int:
    """Which of `partitions` partitions an instance's index item goes in: spread by its id, stable."""
    return hashlib.sha256(instance_id.encode()).digest()[0] % partitions


def watch_partition(bucket: int) -> str:
    return key("SERVERLESS", bucket)


def running_partition(bucket: int) -> str:
    return key("RUNNING", bucket)


def unsettled_partition(bucket: int) -> str:
    return key("UNSETTLED", bucket)


def metric_sample_key(at: datetime) -> str:
    """A sample's sort key; a range of them is a range of times."""
    return key("METRIC", at)


def hourly_rollup_key(hour: datetime) -> str:
    return key("METRICH", hour)


def hibernation_key(hibernated_at: datetime, instance_id: str) -> str:
    return key("HIBERNATION", hibernated_at, instance_id)


def meter_key(instance_id: str) -> str:
    return key("METER", instance_id)


STORAGE_METER = "storage"
"""The meter's watermark of a team's snapshot storage (`METER#storage`), beside its instances'."""
STORAGE_TEAMS_PARTITION = "STORAGE_METERED"
"""Teams whose snapshots keep bytes in S3: the schedule settles their storage every round."""


def ledger_key(day: str, kind: str, entry_id: str) -> str:
    """A line of a team's history: days sort as time does, newest last."""
    return key("LEDGER", day, kind, entry_id)


def ledger_range(first_day: str, last_day: str) -> tuple[str, str]:
    """The sort keys bounding every ledger line from `first_day` to `last_day`, both included."""
    return key("LEDGER", first_day), key("LEDGER", last_day, "~")


def payment_key(payment_id: str) -> str:
    return key("PAYMENT", payment_id)


def attempts_key(kind: str, subject: str) -> str:
    """Attempts of one kind (`login-account`, `login-address`, `register-address`) by one subject."""
    return key("ATTEMPTS", kind, subject)


def attempts_window_key(window_start: int) -> str:
    return key("WINDOW", window_start)


def hibernations_from(since: datetime) -> str:
    """Sorts before the key of every hibernation record from `since` on: the lower bound of a range."""
    return key("HIBERNATION", since)


def market_key(gpu_type: str) -> str:
    """A GPU type's price points and hourly and daily rollups."""
    return key("MARKET", gpu_type)


def price_point_key(at: datetime, provider: str) -> str:
    return key("POINT", at, provider)


def price_hour_key(hour: datetime, provider: str) -> str:
    return key("HOUR", hour, provider)


def price_day_key(day: datetime) -> str:
    """A GPU type's day at every provider, read for periods of a month or a year."""
    return key("DAY", day)


def market_hour_key(hour: datetime) -> str:
    """Every GPU type's median price in one hour, read to compare today with yesterday."""
    return key("HOUR", hour)


def latest_prices_key(gpu_type: str, provider: str) -> str:
    return key("LATEST", gpu_type, provider)


def connection_key(connection_id: str) -> str:
    return key("CONNECTION", connection_id)


UPTIME_PARTITION = "UPTIME"
"""Every provider's daily run and down time, as our machines lived it: one partition, so that the
providers' last month is one Query however many there are."""


def uptime_day_key(day: str, provider: str) -> str:
    return key("DAY", day, provider)


# Prefixes of the sort keys, for begins_with queries.
INSTANCE_PREFIX = instance_key("")
MEMBER_PREFIX = member_key("")
ROLE_PREFIX = key("ROLE", "")
SNAPSHOT_PREFIX = key("SNAPSHOT", "")
EVENT_PREFIX = key("EVENT", "")
ACTION_PREFIX = key("ACTION", "")
STANDBY_ACTION_PREFIX = key("STANDBY_ACTION", "")
"""Actions addressed to the agent of an instance's standby machine, kept apart from its own machine's."""
LATEST_PRICES_PREFIX = key("LATEST", "")
CONNECTION_RECORD = "CONNECTION"
HIBERNATION_RANGE_END = key("HIBERNATION", "~")
"""Sorts after every hibernation record's key: the upper bound of a range over them."""


def create_table_request(table_name: str) -> dict[str, Any]:
    """Arguments for DynamoDB `CreateTable` (on-demand), as the local stack and tests create it."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in KEY_ATTRIBUTES],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": GSI1_NAME,
                "KeySchema": [
                    {"AttributeName": GSI1_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": GSI1_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }
