"""The refusals both access services give, worded once; free of the token code, so the team routes do
not load it."""

from __future__ import annotations

from dumont_core.platform.errors import NotFound, Unauthenticated


def team_not_found(team_id: str) -> NotFound:
    return NotFound("TEAM_NOT_FOUND", f"Team {team_id} not found", team_id=team_id)


def no_longer_a_member() -> Unauthenticated:
    """The caller's token or key names a team it has since left."""
    return Unauthenticated("You are no longer a member of this team")
