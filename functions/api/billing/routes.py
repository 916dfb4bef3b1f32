"""Billing (`/api/v1/balance`, `/api/v1/billing/…`): the team's balance, its history, and credits."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Request, Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from api.billing.schemas import (
    AddCreditsRequest,
    BalanceView,
    BillingSettingsRequest,
    BillingSettingsView,
    CreditReceiptView,
    GrantRequest,
    HistoryEnvelope,
    HistoryLineView,
    HistoryMetaView,
    WebhookReceiptView,
)
from api.idempotency import idempotency_key, once
from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import Envelope
from dumont_core import composition
from dumont_core.access.permissions import OPERATOR_PERMISSION
from dumont_core.platform.errors import ValidationFailed

routes = DomainRoutes(tag="Billing")


@routes.operation("GET", "/api/v1/balance", Envelope[BalanceView], "billing.view")
def balance(caller: Caller) -> Response[str]:
    """Get the balance

    The team's balance in dollars as of its last settlement (running instances are settled every
    minute, and on every change), what its running instances cost an hour together, and how many hours
    the balance lasts at that rate."""
    report = composition.billing().balance(caller)
    return json_response(Envelope[BalanceView](data=BalanceView.model_validate(report)))


@routes.operation("GET", "/api/v1/billing/history", HistoryEnvelope, "billing.view", errors=(400,))
def history(
    caller: Caller,
    since: Annotated[date | None, Query(description="First day (UTC, YYYY-MM-DD), included")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC, YYYY-MM-DD), included")] = None,
    instance_id: Annotated[
        str | None, Query(max_length=64, description="Only this instance's charges")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=512, description="The previous page's `meta.next_cursor`")
    ] = None,
    page: Annotated[
        int, Query(ge=1, le=100, description="Page number, from 1 (prefer `cursor`: see below)")
    ] = 1,
    per_page: Annotated[int, Query(ge=1, le=100, description="Lines per page")] = 20,
) -> Response[str]:
    """Billing history

    Charges (one line per instance and day, with the hours and the price an hour), storage and credits,
    newest first. Over any period the charges add up to what the balance lost to them (`meta`'s
    totals, over the whole period and filter). Each page is one read: follow `meta.next_cursor` (null
    on the last page) with `cursor`; a page number past 1 without a cursor reads the pages before it
    again."""
    if since is not None and until is not None and since > until:
        message = "since must be on or before until"
        raise ValidationFailed(message, details={"fields": [{"field": "since", "message": message}]})
    found = composition.billing().history(
        caller,
        since=since,
        until=until,
        instance_id=instance_id,
        per_page=per_page,
        cursor=cursor,
        page=page,
    )
    return json_response(
        HistoryEnvelope(
            data=[HistoryLineView.model_validate(line) for line in found.items],
            meta=HistoryMetaView.model_validate(found),
        )
    )


@routes.operation(
    "POST",
    "/api/v1/billing/add-credits",
    Envelope[CreditReceiptView],
    "billing.manage",
    errors=(400, 409, 503),
)
def add_credits(caller: Caller, body: Annotated[AddCreditsRequest, Body(embed=False)]) -> Response[str]:
    """Add credits

    Pays for credits through the deployment's payment provider: the local stack's confirms at once and
    the credits land in the answer's balance; with Stripe the answer is `pending` with a `checkout_url`,
    and the credits land when Stripe confirms the payment; a deployment with neither answers 503. A
    payment is credited once, whatever is retried: the request names its payment by its `Idempotency-Key`
    header, or, without one, by who asked for how much within ten minutes (paying the same amount twice
    within them needs two keys)."""

    def pay() -> dict[str, Any]:
        receipt = composition.billing().add_credits(caller, round(body.amount, 2), idempotency_key())
        return CreditReceiptView.model_validate(receipt).model_dump(mode="json")

    receipt = CreditReceiptView.model_validate(once(caller.team_id, "add_credits", body, pay))
    return json_response(Envelope[CreditReceiptView](data=receipt))


@routes.operation(
    "PATCH", "/api/v1/billing/settings", Envelope[BillingSettingsView], "billing.manage", errors=(400,)
)
def change_settings(
    caller: Caller, body: Annotated[BillingSettingsRequest, Body(embed=False)]
) -> Response[str]:
    """Change the team's billing settings

    `low_balance_threshold`: the balance, in dollars, under which the team is warned (`balance.low` and
    `billing.low_balance`, once a crossing); `null` goes back to the deployment's default
    (`LOW_BALANCE_THRESHOLD_USD`, $10). A balance already under the new threshold is warned of at once."""
    found = composition.billing().set_low_balance_threshold(caller, body.low_balance_threshold)
    return json_response(Envelope[BillingSettingsView](data=BillingSettingsView.model_validate(found)))


@routes.operation(
    "POST",
    "/api/v1/billing/grants",
    Envelope[CreditReceiptView],
    OPERATOR_PERMISSION,
    status=201,
    errors=(400, 404),
)
def grant_credits(caller: Caller, body: Annotated[GrantRequest, Body(embed=False)]) -> Response[str]:
    """Grant credits to a team

    For the deployment's operators (the bootstrap account), whom no team role makes: hand a team its
    budget. The credits land at once, in the team's history as a `grant` with the note."""
    receipt = composition.billing().grant(caller, body.team_id, round(body.amount, 2), body.note)
    return json_response(Envelope[CreditReceiptView](data=CreditReceiptView.model_validate(receipt)), 201)


def the_notification(request: Request) -> tuple[str, str | None]:
    """The raw body, exactly as sent (its signature covers it byte for byte), and its Stripe signature."""
    event = request.resolved_event
    return event.decoded_body or "", event.headers.get("Stripe-Signature")


@routes.operation("POST", "/api/v1/billing/stripe-webhook", WebhookReceiptView, None, errors=(400,))
def stripe_webhook(
    notification: Annotated[tuple[str, str | None], Depends(the_notification)],
) -> Response[str]:
    """Stripe's payment notifications

    Stripe calls this when a Checkout Session completes: a paid session's credits land on its team,
    once per session, however often Stripe delivers it. Refused (400) unless signed with the endpoint's
    secret."""
    landed = composition.billing().confirm_payment(*notification)
    return json_response(WebhookReceiptView(received=True, credited=landed))
