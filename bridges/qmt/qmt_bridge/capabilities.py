"""What the installed xtquant build can do, found by looking at it rather than by its version
string (builds ship without a reliable one).

Old builds (the xttrader.py with an asyncio loop, e.g. as vendored in ai4trade/XtQuant@4b167d3):
- `query_stock_orders(self, account)` has no `cancelable_only`; passing it raises TypeError;
- `order_stock` waits 5 s inside (`asyncio.wait_for(future, 5)`) and then returns -2 although the
  request was already sent to miniQMT, so the order may still reach the counter.
Builds from mid-2022 on route sync calls through `common_op_sync_with_seq` and take
`query_stock_orders(account, cancelable_only=False)`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

MINIMUM_XTQUANT = (
    "an xtquant build from mid-2022 or later, whose XtQuantTrader.query_stock_orders(account, "
    "cancelable_only=False) takes cancelable_only (download from dict.thinktrader.net, XtQuant版本下载)"
)


@dataclass(frozen=True)
class Capabilities:
    cancelable_only: bool = True
    warnings: tuple[str, ...] = field(default=())

    @property
    def legacy(self) -> bool:
        return not self.cancelable_only


def detect(trader_class: Any) -> Capabilities:
    try:
        parameters = inspect.signature(trader_class.query_stock_orders).parameters
    except (TypeError, ValueError, AttributeError):
        # A compiled or wrapped method hides its signature: assume the current API, and the
        # first TypeError from it will say otherwise (see QmtSession.list_orders).
        return Capabilities()
    if "cancelable_only" in parameters:
        return Capabilities()
    return legacy_capabilities()


def legacy_capabilities() -> Capabilities:
    return Capabilities(
        cancelable_only=False,
        warnings=(
            "this xtquant build is older than mid-2022: query_stock_orders has no cancelable_only and "
            "order_stock may return -2 after an internal 5 s timeout. The bridge lists all orders and "
            f"treats -2 as outcome unknown; to remove this warning install {MINIMUM_XTQUANT}",
        ),
    )
