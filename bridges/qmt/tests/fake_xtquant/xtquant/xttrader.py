"""XtQuantTrader / XtQuantTraderCallback with the real signatures (brokers.md §2.1-2.2).

Two builds, as in the real package's history:
- XtQuantTrader: current xttrader.py (sync calls through common_op_sync_with_seq, which waits on
  future.result() with no timeout; query_stock_orders(account, cancelable_only=False)).
- LegacyXtQuantTrader: the pre-mid-2022 xttrader.py (ai4trade/XtQuant@4b167d3): order_stock sends
  the request, waits asyncio.wait_for(future, 5) and returns -2 when that expires; the order may
  still have reached the counter. query_stock_orders(self, account) has no cancelable_only.
Tests swap xttrader.XtQuantTrader for the legacy class to run the bridge on an old build.
"""
from __future__ import annotations

import threading
from typing import Any, Optional

from .fake_counter import COUNTER


class XtQuantTraderCallback:
    def on_connected(self) -> None: ...
    def on_disconnected(self) -> None: ...
    def on_account_status(self, status: Any) -> None: ...
    def on_stock_asset(self, asset: Any) -> None: ...
    def on_stock_order(self, order: Any) -> None: ...
    def on_stock_trade(self, trade: Any) -> None: ...
    def on_stock_position(self, position: Any) -> None: ...
    def on_order_error(self, order_error: Any) -> None: ...
    def on_cancel_error(self, cancel_error: Any) -> None: ...
    def on_order_stock_async_response(self, response: Any) -> None: ...
    def on_cancel_order_stock_async_response(self, response: Any) -> None: ...


class XtQuantTrader:
    def __init__(self, path: str, session: int, callback: Optional[XtQuantTraderCallback] = None) -> None:
        self.path = path
        self.session = session
        self.callback = callback
        self.alive = False
        self.started = False

    def register_callback(self, callback: XtQuantTraderCallback) -> None:
        self.callback = callback

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.alive = False
        self.started = False

    def connect(self) -> int:
        return COUNTER.connect(self)

    def subscribe(self, account: Any) -> int:
        return 0 if self.alive else -1

    def set_relaxed_response_order_enabled(self, enabled: bool) -> None: ...

    def order_stock(self, account: Any, stock_code: str, order_type: int, order_volume: int,
                    price_type: int, price: float, strategy_name: str = "", order_remark: str = "") -> int:
        answer = COUNTER.order_stock(self, account, stock_code, order_type, order_volume, price_type,
                                     price, strategy_name, order_remark)
        if answer is None:  # the ack never comes: current builds wait for ever
            threading.Event().wait(30)
            return -1
        return answer

    def cancel_order_stock(self, account: Any, order_id: int) -> int:
        return COUNTER.cancel(self, order_id)

    def query_stock_asset(self, account: Any) -> Any:
        COUNTER.query("query_stock_asset")
        return COUNTER.asset if self.alive else None

    def query_stock_positions(self, account: Any) -> Any:
        COUNTER.query("query_stock_positions")
        return (list(COUNTER.positions) or None) if self.alive else None

    def query_stock_orders(self, account: Any, cancelable_only: bool = False) -> Any:
        COUNTER.query("query_stock_orders")
        # Like the real one (brokers.md §2.3): None for an empty list as well as for failure.
        orders = [o for o in COUNTER.orders.values() if not cancelable_only or o.order_status in (48, 49, 50, 55)]
        return (orders or None) if self.alive else None

    def query_stock_order(self, account: Any, order_id: int) -> Any:
        COUNTER.query("query_stock_order")
        return COUNTER.orders.get(order_id) if self.alive else None


class LegacyXtQuantTrader(XtQuantTrader):
    ORDER_WAIT = 5.0  # the old build's asyncio.wait_for(future, 5); tests shorten it

    def order_stock(self, account: Any, stock_code: str, order_type: int, order_volume: int,
                    price_type: int, price: float, strategy_name: str = "", order_remark: str = "") -> int:
        answer = COUNTER.order_stock(self, account, stock_code, order_type, order_volume, price_type,
                                     price, strategy_name, order_remark)
        if answer is None:
            threading.Event().wait(self.ORDER_WAIT)
            return -2
        return answer

    def query_stock_orders(self, account: Any) -> Any:  # type: ignore[override]  # the old signature
        COUNTER.query("query_stock_orders")
        orders = list(COUNTER.orders.values())
        return (orders or None) if self.alive else None
