"""The protocol's error envelope: every failure the client sees is one of these."""
from __future__ import annotations

from typing import Any, Optional


class BridgeError(Exception):
    """An answer the client must act on, carrying its HTTP status and protocol code."""

    def __init__(self, http_status: int, code: str, message: str, retryable: bool = False,
                 extra: Optional[dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        self.retryable = retryable
        self.extra = extra or {}  # beside "error", e.g. the order a refused cancel left as it was

    def envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "retryable": self.retryable}, **self.extra}


def invalid(message: str) -> BridgeError:
    return BridgeError(400, "INVALID_ARGUMENT", message)


def unauthorized() -> BridgeError:
    return BridgeError(401, "UNAUTHORIZED", "missing or wrong bearer token")


def not_found(what: str) -> BridgeError:
    return BridgeError(404, "ORDER_NOT_FOUND", f"no order {what!r} today")


def idempotency_conflict(client_order_id: str) -> BridgeError:
    return BridgeError(
        409,
        "IDEMPOTENCY_CONFLICT",
        f"client_order_id {client_order_id!r} was already used with a different order",
    )


def in_flight(client_order_id: str) -> BridgeError:
    return BridgeError(
        409, "ORDER_IN_FLIGHT", f"order {client_order_id!r} is being sent to QMT right now; query it"
    )


def broker_rejected(message: str, extra: Optional[dict[str, Any]] = None) -> BridgeError:
    return BridgeError(422, "BROKER_REJECTED", message, extra=extra)


def disconnected() -> BridgeError:
    return BridgeError(503, "BROKER_DISCONNECTED", "not connected to miniQMT; retry later", True)


def not_ready(message: str) -> BridgeError:
    return BridgeError(503, "BRIDGE_NOT_READY", message, True)


def outcome_unknown(client_order_id: str, why: str = "QMT did not answer in time") -> BridgeError:
    return BridgeError(
        504,
        "OUTCOME_UNKNOWN",
        f"outcome of {client_order_id!r} unknown ({why}); GET /v1/orders/{client_order_id}",
    )
