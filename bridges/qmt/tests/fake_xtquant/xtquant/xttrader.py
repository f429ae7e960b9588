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
        return 0 if self.alive and COUNTER.logged_in(account) else -1

    def set_relaxed_response_order_enabled(self, enabled: bool) -> None: ...

    def order_stock(self, account: Any, stock_code: str, order_type: int, order_volume: int,
                    price_type: int, price: float, strategy_name: str = "", order_remark: str = "") -> int:
        answer = COUNTER.order_stock(self, account, stock_code, order_type, order_volume, price_type,
                                     price, strategy_name, order_remark)
        if answer is None:  # the ack never comes: current builds wait for ever
            threading.Event().wait(30)
            return -1
        return answer

    # Current builds: 0 = the cancel request was sent, -1 = it failed (xttrader doc, 股票同步撤单);
    # the answer comes through common_op_sync_with_seq, which waits with no timeout.
    CANCEL_ANSWERS = {"not_logged_in": -1, "not_found": -1, "final": -1, "sent": 0}

    def cancel_order_stock(self, account: Any, order_id: int) -> int:
        outcome = COUNTER.cancel(self, account, order_id)
        if outcome == "lost":
            threading.Event().wait(30)
            return -1
        return self.CANCEL_ANSWERS[outcome]

    def query_account_infos(self) -> Any:
        COUNTER.query("query_account_infos")
        return COUNTER.account_infos() if self.alive else None

    def query_stock_asset(self, account: Any) -> Any:
        COUNTER.query("query_stock_asset")
        if not self.alive or not COUNTER.logged_in(account):
            return None
        return COUNTER.credit_asset if account.account_type == 3 else COUNTER.asset

    def query_credit_detail(self, account: Any) -> Any:
        COUNTER.query("query_credit_detail")
        if not self.alive or not COUNTER.logged_in(account) or account.account_type != 3:
            return None
        return None if COUNTER.credit_detail is None else list(COUNTER.credit_detail)

    def query_stock_positions(self, account: Any) -> Any:
        COUNTER.query("query_stock_positions")
        return (COUNTER.positions_of(account) or None) if self.alive else None

    def query_stock_orders(self, account: Any, cancelable_only: bool = False) -> Any:
        COUNTER.query("query_stock_orders")
        # Like the real one (brokers.md §2.3): None for an empty list as well as for failure.
        orders = [o for o in COUNTER.orders_of(account) if not cancelable_only or o.order_status in (48, 49, 50, 55)]
        return (orders or None) if self.alive else None

    def query_stock_order(self, account: Any, order_id: int) -> Any:
        COUNTER.query("query_stock_order")
        if not self.alive:
            return None
        found = [o for o in COUNTER.orders_of(account) if o.order_id == order_id]
        return found[0] if found else None


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

    # ai4trade/XtQuant@4b167d3: 0 成功, -1 委托已完成撤单失败, -2 未找到对应委托编号撤单失败 (also
    # what its asyncio.wait_for(future, 5) gives when the answer is late), -3 账号未登陆撤单失败.
    CANCEL_ANSWERS = {"not_logged_in": -3, "not_found": -2, "final": -1, "sent": 0}

    def cancel_order_stock(self, account: Any, order_id: int) -> int:
        outcome = COUNTER.cancel(self, account, order_id)
        if outcome == "lost":
            threading.Event().wait(self.ORDER_WAIT)
            return -2
        return self.CANCEL_ANSWERS[outcome]

    @property
    def query_account_infos(self) -> Any:  # type: ignore[override]  # added to xtquant on 2022-06-27
        raise AttributeError("query_account_infos")

    def query_stock_orders(self, account: Any) -> Any:  # type: ignore[override]  # the old signature
        COUNTER.query("query_stock_orders")
        orders = COUNTER.orders_of(account)
        return (orders or None) if self.alive else None
