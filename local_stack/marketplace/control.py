"""The simulation's control endpoints: look inside the market, inject failures, break machines and set
what runs on them, with curl as well as from Python. No API key needed, JSON bodies optional:

    GET  /_sim/machines                   every current machine, as `show instance` renders it
    GET  /_sim/offers                     every offer, rented and withdrawn ones included
    GET  /_sim/requests                   API requests seen (method, path, content type, status...)
    POST /_sim/fail_next_creates          {"count": 2, "status": 429, "body": {...}, "retry_after": 1}
    POST /_sim/fail_next_calls            same, plus "operation": search|create|show|list|manage|...
    POST /_sim/fail_next_boots            {"count": 1, "message": "..."}
    POST /_sim/clear_failures             forget injected failures not yet delivered
    POST /_sim/offers/<id>/withdraw       the offer disappears; renting it answers 404 no_such_ask
    POST /_sim/machines/<id>/fail         {"offline": false, "message": "..."}
    POST /_sim/machines/<id>/interrupt    {"kind": "outbid|host_offline|partition|maintenance"}
    POST /_sim/machines/<id>/status       {"actual_status": "unknown", "message": "..."}: Vast shows it so
    POST /_sim/offers/<id>/bid            {"price": 0.9}: a higher bid outbids our interruptible machine
    POST /_sim/interruptions              {"per_machine_hour": 2}: interrupt running machines at random
    POST /_sim/faults                     {"provider_error_rate": 0.1, "heartbeat_drop_rate": 0.1, "seed": 7}:
                                          the API answers 5xx, the machines' network loses heartbeats, at
                                          random, each that fraction of the time (omitted: unchanged)
    GET  /_sim/faults                     the fault rates now
    POST /_sim/reset                      back to the freshly seeded market
    POST /_sim/machines/<id>/gpu          {"utilization": 90}: the GPU load its agent reads
    POST /_sim/gpu                        the same for every machine
    GET  /_sim/machines/<id>/workspace    the directory standing in for its /workspace
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from local_stack.marketplace.json_bodies import Json, is_number, json_response
from local_stack.marketplace.market import BOOT_FAILURE_MESSAGE

if TYPE_CHECKING:
    from local_stack.marketplace.server import LocalMarketplace


def control_rules() -> list[Rule]:
    """Endpoints all starting with `sim_`, which tells them from the API's; new rules each time, as a
    rule joins one map."""
    return [
        Rule("/_sim/machines", endpoint="sim_machines", methods=["GET"]),
        Rule("/_sim/offers", endpoint="sim_offers", methods=["GET"]),
        Rule("/_sim/requests", endpoint="sim_requests", methods=["GET"]),
        Rule("/_sim/fail_next_creates", endpoint="sim_fail_creates", methods=["POST"]),
        Rule("/_sim/fail_next_calls", endpoint="sim_fail_calls", methods=["POST"]),
        Rule("/_sim/fail_next_boots", endpoint="sim_fail_boots", methods=["POST"]),
        Rule("/_sim/clear_failures", endpoint="sim_clear_failures", methods=["POST"]),
        Rule("/_sim/offers/<int:offer_id>/withdraw", endpoint="sim_withdraw", methods=["POST"]),
        Rule("/_sim/machines/<int:instance_id>/fail", endpoint="sim_fail_machine", methods=["POST"]),
        Rule("/_sim/machines/<int:instance_id>/interrupt", endpoint="sim_interrupt", methods=["POST"]),
        Rule("/_sim/machines/<int:instance_id>/status", endpoint="sim_status", methods=["POST"]),
        Rule("/_sim/offers/<int:offer_id>/bid", endpoint="sim_bid", methods=["POST"]),
        Rule("/_sim/interruptions", endpoint="sim_interruptions", methods=["POST"]),
        Rule("/_sim/faults", endpoint="sim_faults", methods=["GET", "POST"]),
        Rule("/_sim/reset", endpoint="sim_reset", methods=["POST"]),
        Rule("/_sim/machines/<int:instance_id>/gpu", endpoint="sim_gpu", methods=["POST"]),
        Rule("/_sim/gpu", endpoint="sim_gpu_all", methods=["POST"]),
        Rule("/_sim/machines/<int:instance_id>/workspace", endpoint="sim_workspace", methods=["GET"]),
    ]


class MachineRuntime(Protocol):
    """What runs on the simulated machines: their agents, GPU load and disks."""

    def set_gpu_utilization(self, machine_id: int | None, utilization: float) -> None: ...

    def workspace(self, machine_id: int) -> Path: ...

    def drop_heartbeats(self, fraction: float, seed: int | None = None) -> None: ...

    @property
    def heartbeat_drop_rate(self) -> float: ...


def control_response(
    marketplace: LocalMarketplace, endpoint: str, args: Mapping[str, Any], request: Request
) -> Response:
    """Do what a control endpoint asks; a missing or malformed argument raises KeyError, ValueError or
    TypeError."""
    raw = request.get_data()
    # Lenient on purpose: `curl -d '{...}'` sends a form content type, and this is a demo aid.
    body: Json = json.loads(raw) if raw.strip() else {}
    if endpoint == "sim_machines":
        return json_response(200, {"machines": marketplace.machines()})
    if endpoint == "sim_offers":
        return json_response(200, {"offers": marketplace.offers()})
    if endpoint == "sim_requests":
        return json_response(200, {"requests": marketplace.requests_seen()})
    if endpoint in ("sim_gpu", "sim_gpu_all", "sim_workspace"):
        return _machine_control(marketplace.machine_runtime, endpoint, args.get("instance_id"), body)
    if endpoint == "sim_faults":
        if request.method == "POST":
            _set_faults(marketplace, body)
        runtime = marketplace.machine_runtime
        rates = {
            "provider_error_rate": marketplace.provider_error_rate,
            "heartbeat_drop_rate": runtime.heartbeat_drop_rate if runtime is not None else 0.0,
        }
        return json_response(200, {"success": True, **rates})
    if endpoint == "sim_bid":
        price = body["price"]
        if not is_number(price):
            raise ValueError("price must be a number")
        outbid = marketplace.bid(args["offer_id"], float(price))
        return json_response(200, {"success": True, "outbid": outbid})
    _change(marketplace, endpoint, args, body)
    return json_response(200, {"success": True})


def _change(marketplace: LocalMarketplace, endpoint: str, args: Mapping[str, Any], body: Json) -> None:
    """Inject or clear failures, or put the market back as seeded."""
    if endpoint in ("sim_fail_creates", "sim_fail_calls"):
        marketplace.fail_next_calls(
            "create" if endpoint == "sim_fail_creates" else str(body.get("operation", "any")),
            int(body.get("count", 1)),
            int(body["status"]),
            body.get("body"),
            retry_after=float(body["retry_after"]) if body.get("retry_after") is not None else None,
        )
    elif endpoint == "sim_fail_boots":
        marketplace.fail_next_boots(int(body.get("count", 1)), str(body.get("message", BOOT_FAILURE_MESSAGE)))
    elif endpoint == "sim_clear_failures":
        marketplace.clear_injected_failures()
    elif endpoint == "sim_withdraw":
        marketplace.withdraw_offer(args["offer_id"])
    elif endpoint in ("sim_fail_machine", "sim_status", "sim_interrupt"):
        _change_machine(marketplace, endpoint, args["instance_id"], body)
    elif endpoint == "sim_interruptions":
        rate = body["per_machine_hour"]
        if not is_number(rate):
            raise ValueError("per_machine_hour must be a number")
        marketplace.set_interruption_rate(float(rate))
    elif endpoint == "sim_reset":
        marketplace.reset()


def _change_machine(marketplace: LocalMarketplace, endpoint: str, instance_id: int, body: Json) -> None:
    """Break a machine, interrupt it, or make Vast show it in another state."""
    if endpoint == "sim_fail_machine":
        marketplace.fail_machine(
            instance_id, offline=bool(body.get("offline", False)), message=body.get("message")
        )
    elif endpoint == "sim_status":
        marketplace.show_status(instance_id, str(body["actual_status"]), body.get("message"))
    else:
        marketplace.interrupt(instance_id, str(body["kind"]), body.get("message"))


def _set_faults(marketplace: LocalMarketplace, body: Json) -> None:
    """Random faults from now on: 5xx from the API, heartbeats lost on the machines' network."""
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ValueError("seed must be an integer")
    rates = {name: body.get(name) for name in ("provider_error_rate", "heartbeat_drop_rate")}
    for name, rate in rates.items():
        if rate is not None and (not is_number(rate) or not 0 <= rate <= 1):
            raise ValueError(f"{name} must be a fraction from 0 to 1")
    if rates["heartbeat_drop_rate"] is not None:
        if marketplace.machine_runtime is None:
            raise ValueError("no machines run agents here: heartbeats cannot be dropped")
        marketplace.machine_runtime.drop_heartbeats(float(rates["heartbeat_drop_rate"]), seed)
    if rates["provider_error_rate"] is not None:
        marketplace.set_provider_error_rate(float(rates["provider_error_rate"]), seed)


def _machine_control(
    machines: MachineRuntime | None, endpoint: str, machine_id: int | None, body: Json
) -> Response:
    """What runs on the machines (their agents, GPU load and disks), when the local stack attaches it."""
    if machines is None:
        return json_response(404, {"success": False, "error": "no machine runtime is attached"})
    if endpoint == "sim_workspace" and machine_id is not None:
        return json_response(200, {"path": str(machines.workspace(machine_id))})
    utilization = body.get("utilization")
    if not is_number(utilization) or not 0 <= utilization <= 100:
        return json_response(400, {"success": False, "error": "utilization must be a number from 0 to 100"})
    machines.set_gpu_utilization(machine_id, float(utilization))
    return json_response(200, {"success": True})
