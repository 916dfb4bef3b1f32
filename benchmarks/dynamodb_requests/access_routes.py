"""The access routes: registering, logging in, API keys, teams, their members and roles."""

from __future__ import annotations

from benchmarks.dynamodb_requests.client import BenchClient


def exercise_accounts(client: BenchClient) -> None:
    """Registration, logins, API keys, teams, members and roles."""
    credentials = {"email": "bench@example.com", "password": "a bench password"}
    client.measure("POST", "/api/v1/auth/register", body=credentials, expected_status=201)
    client.measure("POST", "/api/v1/auth/login", body=credentials)
    token = client.measure("POST", "/api/auth/login", body=credentials).json()["access_token"]
    client.measure("GET", "/api/v1/instances", case="with an access token", bearer=token)
    key = client.measure("POST", "/api/v1/api-keys", body={"name": "bench"}, expected_status=201)
    client.measure("GET", "/api/v1/api-keys")
    client.measure("DELETE", f"/api/v1/api-keys/{key.json()['data']['id']}")

    teams = client.measure("GET", "/api/v1/teams").json()["data"]
    team_id = next(team["id"] for team in teams if team["current"])
    created = client.measure("POST", "/api/v1/teams", body={"name": "bench"}, expected_status=201)
    other_team = created.json()["data"]["id"]
    client.measure("PATCH", f"/api/v1/teams/{other_team}/plan", body={"plan": "pro"})
    client.measure("PATCH", f"/api/v1/teams/{other_team}/plan", case="already on it", body={"plan": "pro"})
    client.measure("GET", "/api/v1/roles")
    client.measure(
        "POST",
        "/api/v1/roles",
        body={"name": "operator", "permissions": ["instances.view"]},
        expected_status=201,
    )
    member = client.measure(
        "POST",
        f"/api/v1/teams/{team_id}/members",
        body={"email": credentials["email"], "role": "viewer"},
        expected_status=201,
    ).json()["data"]["account_id"]
    client.measure(
        "POST",
        "/api/v1/auth/login",
        case="into another team",
        body={**credentials, "team_id": team_id},
    )
    client.measure("GET", f"/api/v1/teams/{team_id}")
    client.measure("GET", f"/api/v1/teams/{team_id}/members")
    client.measure("PATCH", f"/api/v1/teams/{team_id}/members/{member}", body={"role": "developer"})
    client.measure(
        "PATCH",
        f"/api/v1/teams/{team_id}/members/{member}",
        case="to a custom role",
        body={"role": "operator"},
    )
    client.measure("DELETE", f"/api/v1/teams/{team_id}/members/{member}")
