"""Pure conversions between the protocol's JSON and xtquant's values (no I/O)."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Optional

from .errors import invalid

SHANGHAI = timezone(timedelta(hours=8))

CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
SYMBOL = re.compile(r"^(\d{6})\.(SH|SZ|BJ)$")
PRICE = re.compile(r"^\d{1,7}(\.\d{1,3})?$")

# Unverified per counter (brokers.md §2.3): keep order_remark to 24 ASCII characters.
REMARK_MAX = 24

# brokers.md §6.5; anything not listed (including 255) is "unknown".
QMT_STATUS: dict[int, str] = {
    48: "pending_new",
    49: "pending_new",
    50: "submitted",
    51: "pending_cancel",
    52: "pending_cancel",
    53: "partially_cancelled",
    54: "cancelled",
    55: "partially_filled",
    56: "filled",
    57: "rejected",
}
FINAL_STATUSES = frozenset({"filled", "cancelled", "partially_cancelled", "rejected"})
STOCK_BUY = 23


@dataclass(frozen=True)
class SellOrder:
    client_order_id: str
    symbol: str
    quantity: int
    limit_price: str
    note: str

    def fingerprint(self) -> str:
        """What makes two requests the same order; the free-text note is not part of it."""
        fields = {
            "symbol": self.symbol,
            "side": "sell",
            "quantity": self.quantity,
            "order_type": "limit",
            "limit_price": self.limit_price,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def status_of(qmt_status: Any) -> str:
    try:
        return QMT_STATUS.get(int(qmt_status), "unknown")
    except (TypeError, ValueError):
        return "unknown"


def remark_for(client_order_id: str) -> str:
    """The order_remark carrying the id. Long ids are hashed, deterministically, so that a
    restart can still find the order by remark without storing anything else."""
    if len(client_order_id) <= REMARK_MAX:
        return client_order_id
    return "h" + hashlib.sha256(client_order_id.encode("ascii")).hexdigest()[: REMARK_MAX - 1]


def price_places(symbol: str) -> int:
    """Tick precision: funds and bonds trade in 0.001, shares in 0.01."""
    code, market = symbol.split(".")
    if market == "SH" and code[:1] == "5":
        return 3
    if market == "SH" and code[:2] == "11":
        return 3
    if market == "SZ" and code[:2] in ("12", "15", "16", "18"):
        return 3
    return 2


def decimal_string(value: Any, places: int) -> Optional[str]:
    """Float from xtquant → exact decimal string; repr() keeps the shortest round-trip digits."""
    if value is None:
        return None
    try:
        number = Decimal(repr(float(value)))
    except (TypeError, ValueError, InvalidOperation):
        return None
    return str(number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def iso_time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, SHANGHAI).isoformat(timespec="seconds")


def trading_day(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, SHANGHAI).date().isoformat()


def mask_account(account_id: str) -> str:
    return "****" + account_id[-4:] if len(account_id) > 4 else "****"


def parse_sell_order(body: Any, idempotency_key: Optional[str]) -> SellOrder:
    """Validates a POST /v1/orders body; every message names the offending field."""
    if not isinstance(body, dict):
        raise invalid("body must be a JSON object")
    cid = body.get("client_order_id")
    if not isinstance(cid, str) or not CLIENT_ORDER_ID.match(cid):
        raise invalid("client_order_id must match [A-Za-z0-9_-]{8,32}")
    if idempotency_key != cid:
        raise invalid("Idempotency-Key header must equal client_order_id")
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not SYMBOL.match(symbol):
        raise invalid("symbol must look like 600000.SH, 000001.SZ or 920118.BJ")
    if body.get("side") != "sell":
        raise invalid("side must be \"sell\": this bridge only sells")
    if body.get("order_type", "limit") != "limit":
        raise invalid("order_type must be \"limit\"")
    quantity = body.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise invalid("quantity must be a positive integer number of shares")
    price = body.get("limit_price")
    if not isinstance(price, str) or not PRICE.match(price) or Decimal(price) <= 0:
        raise invalid("limit_price must be a positive decimal string such as \"10.02\"")
    places = price_places(symbol)
    if _decimals(price) > places:
        raise invalid(f"limit_price has more than {places} decimals for {symbol}")
    note = body.get("note", "")
    if not isinstance(note, str):
        raise invalid("note must be a string")
    exact = str(Decimal(price).quantize(Decimal(1).scaleb(-places)))
    return SellOrder(cid, symbol, quantity, exact, note)


def _decimals(price: str) -> int:
    exponent = Decimal(price).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def order_json(
    order: Any, client_order_id: Optional[str], updated_at: float, message: Optional[str] = None
) -> dict[str, Any]:
    """An XtOrder in the protocol's order shape."""
    symbol = str(order.stock_code)
    places = price_places(symbol) if SYMBOL.match(symbol) else 2
    filled = int(getattr(order, "traded_volume", 0) or 0)
    reason = message or (getattr(order, "status_msg", "") or None)
    result: dict[str, Any] = {
        "client_order_id": client_order_id,
        "broker_order_id": str(order.order_id),
        "symbol": symbol,
        "side": "buy" if int(order.order_type) == STOCK_BUY else "sell",
        "quantity": int(order.order_volume),
        "filled_quantity": filled,
        "avg_fill_price": decimal_string(order.traded_price, places) if filled > 0 else None,
        "limit_price": decimal_string(order.price, places),
        "status": status_of(order.order_status),
        "broker_status": str(order.order_status),
        "updated_at": iso_time(updated_at),
    }
    if reason:
        result["message"] = str(reason)
    return result


def position_json(position: Any) -> dict[str, Any]:
    symbol = str(position.stock_code)
    places = price_places(symbol) if SYMBOL.match(symbol) else 2
    return {
        "symbol": symbol,
        "name": getattr(position, "instrument_name", None) or None,
        "quantity": int(position.volume),
        # T+1: can_use_volume is what QMT lets us sell today.
        "sellable_quantity": int(position.can_use_volume),
        "avg_cost": decimal_string(getattr(position, "avg_price", None), places),
        "last_price": decimal_string(getattr(position, "last_price", None), places),
        "market_value": decimal_string(getattr(position, "market_value", None), 2),
    }


def account_json(asset: Any, masked_account: str, account_type: str = "stock") -> dict[str, Any]:
    result = {
        "account_id": masked_account,
        "total_asset": decimal_string(asset.total_asset, 2),
        "cash_available": decimal_string(asset.cash, 2),
        "market_value": decimal_string(asset.market_value, 2),
    }
    if account_type == "credit":
        result["account_type"] = "credit"
        # XtCreditDetail's 总负债 and 维持担保比例, when the asset came from query_credit_detail.
        if getattr(asset, "total_debt", None) is not None:
            result["total_debt"] = decimal_string(asset.total_debt, 2)
        if getattr(asset, "maintenance_ratio", None) is not None:
            result["maintenance_ratio"] = decimal_string(asset.maintenance_ratio, 4)
    return result
