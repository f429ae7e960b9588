"""XtQuantTrader / XtQuantTraderCallback with the real signatures (brokers.md §2.1-2.2)."""
from __future__ import annotations

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
        return COUNTER.order_stock(self, account, stock_code, order_type, order_volume, price_type,
                                   price, strategy_name, order_remark)

    def cancel_order_stock(self, account: Any, order_id: int) -> int:
        return COUNTER.cancel(self, order_id)

    def query_stock_asset(self, account: Any) -> Any:
        return COUNTER.asset if self.alive else None

    def query_stock_positions(self, account: Any) -> Any:
        return (list(COUNTER.positions) or None) if self.alive else None

    def query_stock_orders(self, account: Any, cancelable_only: bool = False) -> Any:
        # Like the real one (brokers.md §2.3): None for an empty list as well as for failure.
        return (list(COUNTER.orders.values()) or None) if self.alive else None

    def query_stock_order(self, account: Any, order_id: int) -> Any:
        return COUNTER.orders.get(order_id) if self.alive else None
