"""Agent tokens: one per machine we rent, good for that instance's agent routes only.

A token carries its team and instance ids, so the authorizer reads the one instance item it may
belong to; it is accepted when its SHA-256 matches the digest kept on that instance.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from dumont_core.platform.models import DomainModel

AGENT_TOKEN_PREFIX = "dumont_ag_"
_TOKEN_BODY = re.compile(r"^([0-9a-f]{16})([0-9a-f]{16})[0-9a-f]{40}$")


class AgentTokenParts(DomainModel):
    team_id: str
    instance_id: str


def new_agent_token(team_id: str, instance_id: str) -> str:
    team_hex, instance_hex = team_id.partition("_")[2], instance_id.partition("_")[2]
    return f"{AGENT_TOKEN_PREFIX}{team_hex}{instance_hex}{secrets.token_hex(20)}"


def agent_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_agent_token(value: str) -> bool:
    return value.startswith(AGENT_TOKEN_PREFIX)


def parse_agent_token(value: str) -> AgentTokenParts | None:
    match = (
        _TOKEN_BODY.match(value.removeprefix(AGENT_TOKEN_PREFIX)) if looks_like_agent_token(value) else None
    )
    if match is None:
        return None
    team_hex, instance_hex = match.groups()
    return AgentTokenParts(team_id=f"team_{team_hex}", instance_id=f"inst_{instance_hex}")


def token_matches(token: str, digest: str | None) -> bool:
    return digest is not None and hmac.compare_digest(agent_token_digest(token), digest)
