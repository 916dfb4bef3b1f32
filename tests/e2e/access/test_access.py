"""Accounts, the three credential forms, API keys shown once and revocable at once, isolation."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import httpx
import jwt
import pytest

from local_stack.stack import LocalStack
from tests.e2e.access.conftest import bearer
from tests.e2e.conftest import wait_for_status

pytestmark = pytest.mark.e2e


def register_and_login(stack: LocalStack) -> tuple[str, str]:
    """A fresh account's email and access token."""
    email, password = f"user-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    with httpx.Client(base_url=stack.url) as anonymous:
        registered = anonymous.post("/api/v1/auth/register", json={"email": email, "password": password})
        assert registered.status_code == 201, registered.text
        assert registered.json()["data"]["email"] == email
        login = anonymous.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    body = login.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    return email, str(body["access_token"])


def signing_secret(stack: LocalStack) -> str:
    secret_arn = stack.deployment.function_environment["JWT_SECRET_ARN"]  # type: ignore[union-attr]
    return str(stack.aws.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])


def test_each_credential_form_works(stack: LocalStack) -> None:
    _, token = register_and_login(stack)
    with httpx.Client(base_url=stack.url) as client:
        assert client.get("/api/v1/instances", headers=bearer(token)).status_code == 200
        created = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=bearer(token))
        assert created.status_code == 201, created.text
        key = created.json()["data"]["key"]
        assert key.startswith("dumont_sk_")
        assert client.get("/api/v1/instances", headers=bearer(key)).status_code == 200
        assert client.get("/api/v1/instances", headers={"X-API-Key": key}).status_code == 200


def test_x_api_key_takes_api_keys_only_not_login_tokens(stack: LocalStack) -> None:
    _, token = register_and_login(stack)
    with httpx.Client(base_url=stack.url) as client:
        refused = client.get("/api/v1/instances", headers={"X-API-Key": token})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
        assert client.get("/api/v1/instances", headers=bearer(token)).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(stack: LocalStack) -> None:
    email, _ = register_and_login(stack)
    with httpx.Client(base_url=stack.url) as anonymous:
        wrong = anonymous.post("/api/v1/auth/login", json={"email": email, "password": "not-the-password"})
        unknown = anonymous.post(
            "/api/auth/login", json={"email": "nobody-" + email, "password": "not-the-password"}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "UNAUTHENTICATED"


def test_registration_is_validated_and_emails_are_unique(stack: LocalStack) -> None:
    email, _ = register_and_login(stack)
    with httpx.Client(base_url=stack.url) as anonymous:
        again = anonymous.post("/api/v1/auth/register", json={"email": email.upper(), "password": "x" * 12})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "CONFLICT"
        bad = anonymous.post("/api/v1/auth/register", json={"email": "not-an-email", "password": "short"})
        assert bad.status_code == 400
        fields = {item["field"] for item in bad.json()["error"]["details"]["fields"]}
        assert fields == {"email", "password"}


def test_api_keys_are_shown_once_listed_by_prefix_and_revoked_at_once(stack: LocalStack) -> None:
    _, token = register_and_login(stack)
    with httpx.Client(base_url=stack.url, headers=bearer(token)) as client:
        created = client.post("/api/v1/api-keys", json={"name": "laptop"}).json()["data"]
        key = created["key"]
        listed = client.get("/api/v1/api-keys").json()["data"]
        assert [item["id"] for item in listed] == [created["id"]]
        assert "key" not in listed[0]
        assert key.startswith(listed[0]["prefix"]) and len(listed[0]["prefix"]) < len(key) // 2
        assert listed[0]["revoked_at"] is None

        assert client.get("/api/v1/instances", headers={"X-API-Key": key}).status_code == 200
        revoked = client.delete(f"/api/v1/api-keys/{created['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["data"]["revoked_at"] is not None
        refused = client.get("/api/v1/instances", headers={"X-API-Key": key, "Authorization": ""})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
        missing = client.delete("/api/v1/api-keys/key_doesnotexist")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "API_KEY_NOT_FOUND"


def test_expired_tampered_and_foreign_tokens_are_refused(stack: LocalStack) -> None:
    _, token = register_and_login(stack)
    claims = jwt.decode(token, options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, signing_secret(stack), algorithm="HS256")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    foreign = jwt.encode(claims, "someone-elses-secret-of-sufficient-length!", algorithm="HS256")
    with httpx.Client(base_url=stack.url) as client:
        assert client.get("/api/v1/instances", headers=bearer(token)).status_code == 200
        for refused in (expired, tampered, foreign, "dumont_sk_neverissued"):
            response = client.get("/api/v1/instances", headers=bearer(refused))
            assert response.status_code == 401, refused


def test_another_account_gets_404_on_my_instance(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    instance_id = create_instance()
    _, stranger = register_and_login(stack)
    with httpx.Client(base_url=stack.url, headers=bearer(stranger)) as other:
        for method, suffix in [("GET", ""), ("GET", "/events"), ("POST", "/stop"), ("DELETE", "")]:
            response = other.request(method, f"/api/v1/instances/{instance_id}{suffix}")
            assert response.status_code == 404, (method, suffix, response.text)
            assert response.json()["error"]["code"] == "INSTANCE_NOT_FOUND"
        assert instance_id not in [item["id"] for item in other.get("/api/v1/instances").json()["data"]]
    wait_for_status(api, instance_id, {"running", "failed"})
    api.delete(f"/api/v1/instances/{instance_id}")
