"""Accounts over HTTP: registering, logging in to a team, and adding members with a role."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from local_stack.stack import LocalStack

PASSWORD = "a long enough password"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(stack: LocalStack) -> str:
    email = f"member-{secrets.token_hex(4)}@example.com"
    with httpx.Client(base_url=stack.url) as anonymous:
        response = anonymous.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email


def login(stack: LocalStack, email: str, team_id: str | None = None) -> httpx.Client:
    body: dict[str, Any] = {"email": email, "password": PASSWORD}
    if team_id:
        body["team_id"] = team_id
    with httpx.Client(base_url=stack.url) as anonymous:
        response = anonymous.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return httpx.Client(base_url=stack.url, headers=bearer(response.json()["access_token"]), timeout=30)


def current_team(client: httpx.Client) -> str:
    teams = client.get("/api/v1/teams").json()["data"]
    return str(next(team["id"] for team in teams if team["current"]))


def add_member(admin: httpx.Client, team_id: str, email: str, role: str) -> str:
    response = admin.post(f"/api/v1/teams/{team_id}/members", json={"email": email, "role": role})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["account_id"])


@contextmanager
def new_member(stack: LocalStack, admin: httpx.Client, team_id: str, role: str) -> Iterator[httpx.Client]:
    """A new account that `admin` adds to the team with `role`, logged in to that team."""
    email = register(stack)
    add_member(admin, team_id, email, role)
    with login(stack, email, team_id) as client:
        yield client
