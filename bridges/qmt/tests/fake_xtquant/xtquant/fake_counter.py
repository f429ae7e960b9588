"""The broker behind the fake: what miniQMT and the counter would hold, controllable by tests."""
from __future__ import annotations

import threading
import time
from typing import Any, Optional

from .xttype import XtAsset, XtOrder, XtOrderError


class FakeCounter:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.reachable = True
        self.connects: list[int] = []
        self.active: Any = None
        self.asset: Optional[XtAsset] = XtAsset("1000000365", 500000.0, 0.0, 523456.78, 1023456.78)
        self.positions: list[Any] = []
        self.orders: dict[int, XtOrder] = {}
        self.order_calls: list[tuple[Any, ...]] = []
        self.cancel_calls: list[int] = []
        self.next_order_id = 1001
        self.gate: Optional[threading.Event] = None
        self.refuse = False
        # The counter takes the order but miniQMT's answer never comes back to the trader: an
        # old build's order_stock then returns -2 after its internal wait (xttrader.py, legacy).
        self.lose_ack = False
        self.land_after: Optional[float] = None  # with lose_ack: the order appears this much later
        # Queries that hang until the event is set (a hung xtquant call), by method name.
        self.hang: dict[str, threading.Event] = {}
        self.query_calls: dict[str, int] = {}

    def connect(self, trader: Any) -> int:
        self.connects.append(trader.session)
        if not self.reachable:
            return -1
        trader.alive = True
        self.active = trader
        return 0

    def drop_connection(self) -> None:
        """miniQMT went away: the trader dies and its callback hears on_disconnected."""
        trader, self.active = self.active, None
        if trader is not None:
            trader.alive = False
            trader.callback.on_disconnected()

    def order_stock(self, trader: Any, account: Any, stock_code: str, order_type: int, volume: int,
                    price_type: int, price: float, strategy_name: str, remark: str) -> int:
        self.order_calls.append((account.account_id, stock_code, order_type, volume, price_type,
                                 price, strategy_name, remark))
        if self.gate is not None:
            self.gate.wait(10)
        if not trader.alive or self.refuse:
            return -1
        if self.lose_ack:
            def land() -> None:
                self.add_order(stock_code, volume, price, remark, strategy_name=strategy_name)
            if self.land_after is None:
                land()
            else:
                threading.Timer(self.land_after, land).start()
            return None  # no ack: the trader decides what its caller sees
        order = self.add_order(stock_code, volume, price, remark, strategy_name=strategy_name)
        trader.callback.on_stock_order(order)
        return order.order_id

    def query(self, name: str) -> None:
        """Counts a query and blocks while the test keeps that query hung."""
        self.query_calls[name] = self.query_calls.get(name, 0) + 1
        gate = self.hang.get(name)
        if gate is not None:
            gate.wait(30)

    def add_order(self, stock_code: str, volume: int, price: float, remark: str, status: int = 50,
                  strategy_name: str = "sealguard", order_type: int = 24) -> XtOrder:
        order_id = self.next_order_id
        self.next_order_id += 1
        order = XtOrder("1000000365", stock_code, order_id, f"SYS{order_id}", int(time.time()),
                        order_type, volume, 50, price, 0, 0.0, status, "", strategy_name, remark)
        self.orders[order_id] = order
        return order

    def reject_later(self, order_id: int, error_id: int, message: str) -> None:
        order = self.orders[order_id]
        order.order_status = 57
        order.status_msg = message
        self.active.callback.on_order_error(
            XtOrderError("1000000365", order_id, error_id, message, order.strategy_name, order.order_remark))

    def cancel(self, trader: Any, order_id: int) -> int:
        self.cancel_calls.append(order_id)
        if not trader.alive or order_id not in self.orders:
            return -1
        self.orders[order_id].order_status = 51
        return 0


COUNTER = FakeCounter()
