"""Where the client's key and API address come from: arguments first, then the environment."""

from __future__ import annotations

import os
import re

from dumont.errors import AuthenticationError

API_KEY_VARIABLE = "DUMONT_API_KEY"
API_URL_VARIABLE = "DUMONT_API_URL"
DEFAULT_BASE_URL = "https://dumontcloud.com"

# A key the API issues, or an access token (three dot-separated parts).
_WELL_FORMED_KEY = re.compile(r"^dumont_sk_[A-Za-z0-9_-]{8,}$|^[\w-]+\.[\w-]+\.[\w-]+$")


def resolve_api_key(api_key: str | None) -> str:
    """The key to send. An explicit key wins, unless it is a placeholder (not shaped like a key, e.g.
    `"your_key"` or `"dumont_sk_..."` copied from the documentation) and DUMONT_API_KEY is set."""
    from_environment = os.environ.get(API_KEY_VARIABLE, "").strip()
    if api_key and (_WELL_FORMED_KEY.match(api_key) or not from_environment):
        return api_key
    if from_environment:
        return from_environment
    raise AuthenticationError(
        f"no API key: pass api_key=... or set {API_KEY_VARIABLE} (create one with POST /api/v1/api-keys)",
        code="UNAUTHENTICATED",
    )


def resolve_base_url(base_url: str | None) -> str:
    """The API's root address, without a trailing `/api` (the routes carry it)."""
    url = (base_url or os.environ.get(API_URL_VARIABLE, "").strip() or DEFAULT_BASE_URL).rstrip("/")
    return url.removesuffix("/api")
