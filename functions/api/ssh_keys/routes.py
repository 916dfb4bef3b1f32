"""`/api/v1/ssh-keys`: the SSH keys of your account, given to every instance you create."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import Envelope
from api.ssh_keys.schemas import AccountSshKeyView, NewSshKeyRequest
from dumont_core import composition

routes = DomainRoutes(tag="SSH keys")


@routes.operation(
    "POST", "/api/v1/ssh-keys", Envelope[AccountSshKeyView], "instances.create", status=201, errors=(400, 409)
)
def add_account_key(caller: Caller, body: Annotated[NewSshKeyRequest, Body(embed=False)]) -> Response[str]:
    """Add an SSH key to your account

    Every instance you create from now on, in any of your teams, starts with it beside the key given at
    creation, and keeps it on every machine it moves to. Instances that exist already are left as they
    are (add it to one with `POST /api/v1/instances/{id}/ssh-keys`). A key already in your account is
    refused with 409."""
    key = composition.account_keys().add(caller, body.public_key, body.name)
    return json_response(Envelope[AccountSshKeyView](data=AccountSshKeyView.model_validate(key)), 201)


@routes.operation("GET", "/api/v1/ssh-keys", Envelope[list[AccountSshKeyView]], "instances.view")
def list_account_keys(caller: Caller) -> Response[str]:
    """List your account's SSH keys"""
    keys = composition.account_keys().keys(caller)
    return json_response(Envelope[list[AccountSshKeyView]].model_validate({"data": keys}))


@routes.operation(
    "DELETE", "/api/v1/ssh-keys/{key_id}", Envelope[AccountSshKeyView], "instances.create", errors=(404,)
)
def remove_account_key(caller: Caller, key_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    """Remove an SSH key from your account

    Instances created from now on do not get it; instances that have it keep it until it is removed
    from them (`DELETE /api/v1/instances/{id}/ssh-keys/{key_id}`)."""
    removed = composition.account_keys().remove(caller, key_id)
    return json_response(Envelope[AccountSshKeyView](data=AccountSshKeyView.model_validate(removed)))
