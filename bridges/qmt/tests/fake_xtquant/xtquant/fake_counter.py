"""The broker behind the fake: what miniQMT and the counter would hold, controllable by tests.

Cancels follow xtquant's documented behaviour (xttrader doc "股票同步撤单": cancel_order_stock
returns 0 when the cancel request was sent, -1 when it failed; the pre-2022 xttrader.py in
ai4trade/XtQuant@4b167d3: -1 委托已完成撤单失败, -2 未找到对应委托编号 or its internal 5 s wait
expired, -3 账号未登陆). A cancel that was sent shows as 51 已报待撤 (52 部成待撤 after a partial
fill), then the counter confirms it: 54 已撤 ORDER_CANCELED, or 53 部撤 ORDER_PART_CANCEL with the
filled quantity, each pushed through on_stock_order; a counter that refuses it pushes
on_cancel_error(XtCancelError) and the order stays as it was (brokers.md §2.2, §2.5).
Which answer a current build gives for an order that is already final is not documented: the
fake does either (-1 at once, or 0 then on_cancel_error), set by `cancel_final_answer`.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Optional

from . import xtconstant
from .xttype import XtAccountInfo, XtAsset, XtCancelError, XtCreditDetail, XtOrder, XtOrderError

LIVE = (48, 49, 50, 55)  # statuses a cancel can still act on
FINAL = (53, 54, 56, 57)


class FakeCounter:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.reachable = True
        self.connects: list[int] = []
        self.active: Any = None
        self.asset: Optional[XtAsset] = XtAsset("1000000365", 500000.0, 0.0, 523456.78, 1023456.78)
        self.positions: list[Any] = []
        # What miniQMT has logged in (query_account_infos); an order or query on any other
        # (account id, type) is refused.
        self.accounts: list[XtAccountInfo] = [XtAccountInfo("1000000365", 2)]
        self.credit_positions: list[Any] = []  # query_stock_positions of the CREDIT account
        self.credit_detail: Optional[list[XtCreditDetail]] = [
            XtCreditDetail("1000000365", 1523456.78, 300000.0, 1223456.78, 400000.0, 3.05)]
        self.credit_asset: Optional[XtAsset] = None  # query_stock_asset on a credit account
        self.order_accounts: list[tuple[str, int]] = []
        # Cancels (see the module docstring).
        self.cancel_gate: Optional[threading.Event] = None  # cancel_order_stock blocks until set
        self.cancel_confirm_after: Optional[float] = 0.05  # None: tests call confirm_cancel()
        self.cancel_final_answer = "minus_one"  # or "error_push"
        self.refuse_cancel: Optional[tuple[int, str]] = None  # the counter refuses the cancel
        self.lose_cancel_ack = False  # the cancel lands, its answer never comes back
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
        self.order_accounts.append((account.account_id, account.account_type))
        if self.gate is not None:
            self.gate.wait(10)
        if not trader.alive or self.refuse or not self.logged_in(account):
            return -1
        if self.lose_ack:
            def land() -> None:
                self.add_order(stock_code, volume, price, remark, strategy_name=strategy_name,
                               account_type=account.account_type)
            if self.land_after is None:
                land()
            else:
                threading.Timer(self.land_after, land).start()
            return None  # no ack: the trader decides what its caller sees
        order = self.add_order(stock_code, volume, price, remark, strategy_name=strategy_name,
                               account_type=account.account_type)
        trader.callback.on_stock_order(order)
        return order.order_id

    def query(self, name: str) -> None:
        """Counts a query and blocks while the test keeps that query hung."""
        self.query_calls[name] = self.query_calls.get(name, 0) + 1
        gate = self.hang.get(name)
        if gate is not None:
            gate.wait(30)

    def add_order(self, stock_code: str, volume: int, price: float, remark: str, status: int = 50,
                  strategy_name: str = "sealguard", order_type: int = 24, account_type: int = 2) -> XtOrder:
        order_id = self.next_order_id
        self.next_order_id += 1
        order = XtOrder("1000000365", stock_code, order_id, f"SYS{order_id}", int(time.time()),
                        order_type, volume, 50, price, 0, 0.0, status, "", strategy_name, remark,
                        account_type=account_type)
        self.orders[order_id] = order
        return order

    def reject_later(self, order_id: int, error_id: int, message: str) -> None:
        order = self.orders[order_id]
        order.order_status = 57
        order.status_msg = message
        self.active.callback.on_order_error(
            XtOrderError("1000000365", order_id, error_id, message, order.strategy_name, order.order_remark))

    def logged_in(self, account: Any) -> bool:
        names = {name: number for number, name in xtconstant.ACCOUNT_TYPE_DICT.items()}
        return any(a.account_id == account.account_id
                   and names.get(a.account_type, a.account_type) == account.account_type  # type: ignore[call-overload]
                   for a in self.accounts)

    def account_infos(self) -> list[XtAccountInfo]:
        return list(self.accounts)

    def positions_of(self, account: Any) -> list[Any]:
        if not self.logged_in(account):
            return []
        return list(self.credit_positions if account.account_type == 3 else self.positions)

    def orders_of(self, account: Any) -> list[XtOrder]:
        if not self.logged_in(account):
            return []
        return [o for o in self.orders.values() if o.account_type == account.account_type]

    # -- cancels -------------------------------------------------------------------------

    def cancel(self, trader: Any, account: Any, order_id: int) -> str:
        """What happened to the cancel request; the trader class turns it into its build's
        return code: "not_logged_in", "not_found", "final", "sent", "lost"."""
        self.cancel_calls.append(order_id)
        if self.cancel_gate is not None:
            self.cancel_gate.wait(10)
        if not trader.alive or not self.logged_in(account):
            return "not_logged_in"
        order = self.orders.get(order_id)
        if order is None or order.account_type != account.account_type:
            return "not_found"
        if order.order_status in FINAL:
            if self.cancel_final_answer == "error_push":
                self._later(0.02, lambda: self._cancel_error(order, -1, "委托已成交或已撤，不能撤单"))
                return "sent"
            return "final"
        if self.refuse_cancel is not None:
            error_id, message = self.refuse_cancel
            self._later(0.02, lambda: self._cancel_error(order, error_id, message))
            return "sent"
        order.order_status = 52 if order.traded_volume > 0 else 51
        self._push(order)
        if self.cancel_confirm_after is not None:
            self._later(self.cancel_confirm_after, lambda: self.confirm_cancel(order_id))
        return "lost" if self.lose_cancel_ack else "sent"

    def confirm_cancel(self, order_id: int) -> None:
        """The counter's answer to a cancel it holds: 54 已撤, or 53 部撤 after a partial fill;
        an order that filled completely meanwhile gets on_cancel_error instead."""
        order = self.orders.get(order_id)
        if order is None:  # reset() by the next test
            return
        if order.order_status in FINAL:
            self._cancel_error(order, -1, "委托已成交，撤单失败")
            return
        order.order_status = 53 if order.traded_volume > 0 else 54
        self._push(order)

    def fill(self, order_id: int, volume: int, price: float) -> None:
        """A trade against the order (on_stock_order with its new traded_volume/status)."""
        order = self.orders[order_id]
        order.traded_volume += volume
        order.traded_price = price
        if order.traded_volume >= order.order_volume:
            order.order_status = 56
        elif order.order_status in (51, 52):
            order.order_status = 52
        else:
            order.order_status = 55
        self._push(order)

    def _cancel_error(self, order: XtOrder, error_id: int, message: str) -> None:
        if self.active is not None:
            market = 0 if order.stock_code.endswith(".SH") else 1
            self.active.callback.on_cancel_error(XtCancelError(
                order.account_id, order.order_id, market, order.order_sysid, error_id, message,
                account_type=order.account_type))

    def _push(self, order: XtOrder) -> None:
        if self.active is not None:
            self.active.callback.on_stock_order(order)

    def _later(self, seconds: float, action: Any) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        timer.start()


COUNTER = FakeCounter()
