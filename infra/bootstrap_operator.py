"""The deployment's first operator, made against the deployed table: `python -m infra.bootstrap_operator
--email ops@example.com --table <the stack's TableName output>` with AWS credentials for the account.

The local stack makes its operator when it starts; a stack deployed to AWS has none until this is run,
and operators are the only ones who grant credits to teams or change a team's plan. The account is
registered through the same service as sign-ups, on the enterprise plan, with the operator's
permission; its password is printed once, to log in with (`POST /api/v1/auth/login`) and change.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence

from dumont_core import composition
from dumont_core.access.models import Registration
from dumont_core.platform.errors import Conflict

OPERATOR_PLAN = "enterprise"


def bootstrap_operator(email: str) -> tuple[Registration, str]:
    """Register `email` as an operator of the deployment bound now; the account and its password."""
    password = secrets.token_urlsafe(18)
    account = composition.access().register(email, password, plan=OPERATOR_PLAN, operator=True)
    return account, password


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bootstrap_operator", description=__doc__)
    parser.add_argument("--email", required=True, help="the operator's email, to log in with")
    parser.add_argument(
        "--table",
        default=os.environ.get("TABLE_NAME"),
        help="the deployed stack's table (its TableName output); default: $TABLE_NAME",
    )
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("--table is required (the stack's TableName output)")
    os.environ["TABLE_NAME"] = args.table
    composition.reset()  # read the table named here, not one read before
    try:
        account, password = bootstrap_operator(args.email)
    except Conflict as error:
        print(f"Not made: {error.message}", file=sys.stderr)
        return 1
    print(f"Operator {account.email} (account {account.account_id}, team {account.team_id})")
    print(f"Password, shown once: {password}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
