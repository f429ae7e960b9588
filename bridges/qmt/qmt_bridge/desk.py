"""Orders: place once, replay, reconcile by order_remark, query and cancel.

Never placing twice rests on four rules: the id is on disk before order_stock(); an id whose
broker answer is missing is looked up by order_remark in today's orders before anything is sent;
an id stays "in flight" until its order_stock() call returns, however long that takes; and an
answer that leaves the outcome open (-2 from old builds' internal timeout, an exception, any
other non-positive id) makes the id "unknown": it is reconciled by order_remark and never sent
again, because the request may already be at the counter.

Cancels are never assumed either: cancel_order_stock's 0 only says the request left, so the
answer is the order's own state, read back from QMT (pushes and query_stock_order) for up to
--cancel-wait seconds: 200 with the final order (54 cancelled, 53 partially cancelled with its
filled quantity, or 56 filled when the cancel came too late), else 202 with the order as it is
and a `cancel` state to resolve by GET. One cancel per order reaches the counter: the attempt is
on disk before the call, and while it may still act (in flight, sent, or unknown) a repeat is
answered from the order, not sent again.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Optional

from . import errors
from .errors import BridgeError
from .session import BrokerTimeout, QmtSession
from .store import CancelRecord, IdempotencyStore, Record
from .wire import (
    FINAL_STATUSES,
    SellOrder,
    iso_time,
    order_json,
    remark_for,
    status_of,
    trading_day,
)

log = logging.getLogger("qmt_bridge.desk")

STRATEGY_NAME = "sealguard"
STOCK_SELL = 24  # xtconstant.STOCK_SELL
CREDIT_SELL = 24  # xtconstant.CREDIT_SELL 担保品卖出: same number; the CREDIT account makes it one
FIX_PRICE = 11  # xtconstant.FIX_PRICE
ORDER_FAILED = -1  # order_stock's documented refusal
ORDER_TIMED_OUT = -2  # old xttrader.py: asyncio.wait_for(future, 5) expired after the request left
# cancel_order_stock: 0 request sent, -1 failed (old builds: 委托已完成撤单失败), -2 (old builds)
# 未找到对应委托编号 or their internal wait expired, -3 (old builds) 账号未登陆.
CANCEL_SENT = 0
CANCEL_FAILED = -1
CANCEL_NOT_LOGGED_IN = -3
CANCEL_POLL = 0.2  # seconds between query_stock_order reads while waiting for a cancel's outcome

Response = tuple[int, dict[str, Any]]


class OrderDesk:
    def __init__(
        self,
        session: QmtSession,
        store: IdempotencyStore,
        deadline: float,
        clock: Callable[[], float] = time.time,
        cancel_wait: float = 2.0,
        cancel_retry_after: float = 30.0,
    ) -> None:
        self._session = session
        self._store = store
        self._deadline = deadline
        self._clock = clock
        self._cancel_wait = cancel_wait
        self._cancel_retry_after = cancel_retry_after
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._pushed_at: dict[str, float] = {}
        self._errors: dict[str, str] = {}
        self._changed = threading.Condition()  # notified on every order push and cancel error
        self._cancelling: set[str] = set()  # QMT order ids whose cancel_order_stock is running
        self._cancel_errors: dict[str, str] = {}  # QMT order id -> on_cancel_error text

    @property
    def _account(self) -> str:
        return self._session.account_id

    def _day(self) -> str:
        return trading_day(self._clock())

    # -- pushes from xtquant ---------------------------------------------------------------

    def order_pushed(self, order: Any) -> None:
        self._pushed_at[str(order.order_id)] = self._clock()
        with self._changed:
            self._changed.notify_all()

    def order_failed(self, error: Any) -> None:
        self._errors[str(error.order_id)] = f"{error.error_id} {error.error_msg}".strip()

    def cancel_failed(self, error: Any) -> None:
        """on_cancel_error: the counter refused a cancel (XtCancelError)."""
        with self._changed:
            self._cancel_errors[str(error.order_id)] = f"{error.error_id} {error.error_msg}".strip()
            self._changed.notify_all()

    # -- place ---------------------------------------------------------------------------

    def place(self, order: SellOrder) -> Response:
        day = self._day()
        cid = order.client_order_id
        with self._lock:
            if cid in self._in_flight:
                raise errors.in_flight(cid)
            record = self._store.get(self._account, day, cid)
            if record is not None and record.fingerprint != order.fingerprint():
                raise errors.idempotency_conflict(cid)
            if record is not None and record.state in ("placed", "rejected"):
                return _replay(record)
            if not self._session.connected:
                raise self._session.not_connected_error()
            self._in_flight.add(cid)
        handed_off = False
        try:
            if record is not None and record.state in ("pending", "unknown"):
                found = self._find_by_remark(record.remark)
                if found is not None:
                    return self._adopt(record, found)
                if record.state == "unknown":
                    raise errors.outcome_unknown(cid, "it is not in QMT's orders yet and is never sent twice")
            if record is None:
                self._store.insert_pending(
                    self._account, day, cid, order.fingerprint(), remark_for(cid), self._clock()
                )
            elif record.state == "not_placed":
                self._store.settle(self._account, day, cid, "pending", self._clock())
            handed_off = True
            return self._send(order, day)
        finally:
            if not handed_off:
                self._release(cid)

    def _send(self, order: SellOrder, day: str) -> Response:
        cid = order.client_order_id
        remark = remark_for(cid)
        price = float(order.limit_price)

        def call(trader: Any, account: Any) -> Response:
            try:
                order_id = trader.order_stock(
                    account, order.symbol, CREDIT_SELL if self._session.credit else STOCK_SELL, order.quantity, FIX_PRICE, price,
                    STRATEGY_NAME, remark,
                )
                return self._settle(cid, day, order_id)
            except BridgeError:
                raise
            except Exception as exc:  # the request may have left: unknown, reconciled by remark
                log.warning("order_stock raised for %s: %s", cid, exc)
                self._store.settle(self._account, day, cid, "unknown", self._clock())
                raise errors.outcome_unknown(cid, f"xtquant raised {type(exc).__name__}") from exc
            finally:
                self._release(cid)

        try:
            future = self._session.submit(call)
        except BridgeError:
            self._store.settle(self._account, day, cid, "not_placed", self._clock())
            self._release(cid)
            raise
        try:
            return future.result(timeout=self._deadline)
        except FutureTimeout:
            # The request is with xtquant and may reach the counter: from now on, even across a
            # restart (which forgets what is in flight), the id is only reconciled, never resent.
            self._store.settle_if(self._account, day, cid, "pending", "unknown", self._clock())
            log.warning("order_stock for %s outlived %.1fs", cid, self._deadline)
            raise errors.outcome_unknown(cid) from None

    def _settle(self, cid: str, day: str, order_id: Any) -> Response:
        now = self._clock()
        if isinstance(order_id, int) and order_id > 0:
            body = {
                "client_order_id": cid,
                "broker_order_id": str(order_id),
                "status": "submitted",
                "replayed": False,
            }
            self._store.settle(self._account, day, cid, "placed", now, str(order_id), 201, body)
            log.info("placed %s as QMT order %s", cid, order_id)
            return 201, body
        if order_id != ORDER_FAILED:
            # -2 (old builds' internal 5 s timeout) and anything else that is not an order id:
            # the request may have reached the counter, so the id is never sent again.
            self._store.settle(self._account, day, cid, "unknown", now)
            log.warning("order_stock returned %r for %s: outcome unknown, reconciling by remark", order_id, cid)
            raise errors.outcome_unknown(cid, f"order_stock returned {order_id!r}")
        if not self._session.connected:
            self._store.settle(self._account, day, cid, "not_placed", now)
            raise errors.disconnected()
        refused = errors.broker_rejected(f"QMT refused the order (order_stock returned {order_id})")
        self._store.settle(
            self._account, day, cid, "rejected", now, None, refused.http_status, refused.envelope()
        )
        raise refused

    def _adopt(self, record: Record, order: Any) -> Response:
        """A restart found the order QMT already has: record it instead of placing again."""
        body = {
            "client_order_id": record.client_order_id,
            "broker_order_id": str(order.order_id),
            "status": status_of(order.order_status),
            "replayed": False,
        }
        self._store.settle(
            self._account, record.trading_day, record.client_order_id, "placed", self._clock(),
            str(order.order_id), 201, body,
        )
        log.info("reconciled %s to QMT order %s", record.client_order_id, order.order_id)
        return 200, {**body, "replayed": True}

    def _release(self, cid: str) -> None:
        with self._lock:
            self._in_flight.discard(cid)

    # -- query ---------------------------------------------------------------------------

    def get(self, order_ref: str) -> dict[str, Any]:
        record, order = self._resolve(order_ref)
        if order is not None:
            return self._order_json(order, record)
        if record is None or record.state == "not_placed":
            raise errors.not_found(order_ref)
        return self._unseen_json(record)

    def list_today(self) -> list[dict[str, Any]]:
        orders = self._today_orders()
        records = self._store.today(self._account, self._day())
        by_remark = {r.remark: r for r in records}
        cancels = self._store.cancels_today(self._account, self._day())
        listed = [self._order_json(o, by_remark.get(str(o.order_remark or "")), cancels) for o in orders]
        seen = {str(o.order_remark or "") for o in orders}
        for record in records:
            if record.remark not in seen and record.state != "not_placed":
                listed.append(self._unseen_json(record))
        return listed

    def cancel(self, order_ref: str) -> Response:
        record, order = self._resolve(order_ref)
        if order is None:
            if record is not None and record.client_order_id in self._in_flight:
                raise errors.in_flight(record.client_order_id)
            if record is not None and record.state == "unknown":
                raise errors.outcome_unknown(record.client_order_id, "the order is not in QMT's orders yet")
            raise errors.not_found(order_ref)
        if status_of(order.order_status) in FINAL_STATUSES:
            return 200, self._order_json(order, record)
        day, order_id = self._day(), int(order.order_id)
        key = str(order_id)
        with self._lock:
            previous = self._store.cancel_of(self._account, day, key)
            if key in self._cancelling or (previous is not None and self._may_still_act(previous, order)):
                send = False
            else:
                send = True
                self._cancelling.add(key)
                self._store.begin_cancel(self._account, day, key, self._clock())
                with self._changed:
                    self._cancel_errors.pop(key, None)
        if not send:
            # A cancel for this order is already at the counter (or may be): never a second one.
            return self._cancel_outcome(order_id, record, order)
        return self._send_cancel(order_id, record, order, day)

    def _may_still_act(self, previous: CancelRecord, order: Any) -> bool:
        """An earlier attempt that may still take effect blocks a new one: one that is running
        or unanswered, or one QMT took, unless it is older than --cancel-retry-after while the
        order does not show 已报待撤/部成待撤 (then that request evidently got lost)."""
        if previous.state == "refused":
            return False
        if status_of(order.order_status) == "pending_cancel":
            return True
        return self._clock() - previous.requested_at < self._cancel_retry_after

    def _send_cancel(self, order_id: int, record: Optional[Record], order: Any, day: str) -> Response:
        key = str(order_id)
        outlived = threading.Event()  # set once the deadline passed with the call still running

        def settle(state: str, message: Optional[str] = None) -> None:
            self._store.settle_cancel(self._account, day, key, state, self._clock(), message)

        def call(trader: Any, account: Any) -> Any:
            return trader.cancel_order_stock(account, order_id)

        try:
            future = self._session.submit(call, key=("cancel", order_id), label="cancel_order_stock")
        except BridgeError as exc:
            settle("refused", f"not sent: {exc.message}")
            self._release_cancel(key)
            raise

        def finished(done: Any) -> None:
            self._release_cancel(key)
            if outlived.is_set():  # a late answer to a call that outlived its deadline
                if done.exception() is None and done.result() == CANCEL_SENT:
                    self._store.settle_cancel(self._account, day, key, "sent", self._clock(),
                                              "cancel_order_stock answered 0 after the deadline")

        future.add_done_callback(finished)
        try:
            rc = future.result(timeout=self._deadline)
        except FutureTimeout:
            outlived.set()
            settle("unknown", f"cancel_order_stock did not answer within {self._deadline:g}s")
            log.warning("cancel of QMT order %s outlived %.1fs", order_id, self._deadline)
            return self._cancel_outcome(order_id, record, order, wait=False)
        except Exception as exc:  # xtquant's own exceptions: the request may have left
            settle("unknown", f"cancel_order_stock raised {type(exc).__name__}")
            log.warning("cancel_order_stock raised for %s: %s", order_id, exc)
            return self._cancel_outcome(order_id, record, order, wait=False)

        if rc == CANCEL_SENT:
            settle("sent")
            return self._cancel_outcome(order_id, record, order)
        if rc == CANCEL_NOT_LOGGED_IN:
            settle("refused", "cancel_order_stock returned -3 (account not logged in)")
            raise errors.not_ready("QMT says the account is not logged in (cancel_order_stock returned -3)")
        if rc == CANCEL_FAILED:
            # Mostly "the order is already final": its final state is the answer, not an error.
            settle("refused", "cancel_order_stock returned -1")
            final = self._wait_for_outcome(order_id, order, self._cancel_wait)[0]
            if status_of(final.order_status) in FINAL_STATUSES:
                return 200, self._order_json(final, record)
            if not self._session.connected:
                raise self._session.not_connected_error()
            raise errors.broker_rejected(
                f"QMT refused to cancel order {order_id} (cancel_order_stock returned -1)",
                {"order": self._order_json(final, record)})
        # -2 from old builds (its own 5 s wait expired, or no such order) and anything else:
        # only the order's state can tell whether the cancel reached the counter.
        settle("unknown", f"cancel_order_stock returned {rc!r}")
        log.warning("cancel_order_stock returned %r for %s: outcome unknown", rc, order_id)
        return self._cancel_outcome(order_id, record, order, wait=False)

    def _cancel_outcome(self, order_id: int, record: Optional[Record], order: Any, wait: bool = True) -> Response:
        """200 with the final order, 422 when the counter refused the cancel (on_cancel_error)
        while the order is live, else 202 with the order as it is now."""
        current, refusal = self._wait_for_outcome(order_id, order, self._cancel_wait if wait else 0.0)
        if status_of(current.order_status) in FINAL_STATUSES:
            return 200, self._order_json(current, record)
        key = str(order_id)
        if refusal is not None:
            self._store.settle_cancel(self._account, self._day(), key, "refused", self._clock(),
                                      f"on_cancel_error: {refusal}")
            raise errors.broker_rejected(f"the counter refused to cancel order {order_id}: {refusal}",
                                         {"order": self._order_json(current, record)})
        return 202, self._order_json(current, record)

    def _wait_for_outcome(self, order_id: int, order: Any, seconds: float) -> tuple[Any, Optional[str]]:
        """The order once final (or at the end of `seconds`), and an on_cancel_error if one came."""
        key = str(order_id)
        until = time.monotonic() + seconds
        current = order
        while True:
            try:
                current = self._query_order(order_id) or current
            except BridgeError:
                return current, None  # QMT is not answering queries: report what is known
            with self._changed:
                refusal = self._cancel_errors.get(key)
            if status_of(current.order_status) in FINAL_STATUSES or refusal is not None:
                return current, refusal
            left = until - time.monotonic()
            if left <= 0:
                return current, None
            with self._changed:
                self._changed.wait(min(left, CANCEL_POLL))

    def _release_cancel(self, key: str) -> None:
        with self._lock:
            self._cancelling.discard(key)

    def _cancel_json(self, order: Any, record: Optional[Record]) -> dict[str, Any]:
        return self._order_json(order, record)

    def reconcile_pending(self) -> None:
        """At start-up: records left pending by a crash are matched to QMT's orders by remark."""
        pending = [r for r in self._store.today(self._account, self._day()) if r.state in ("pending", "unknown")]
        for record in pending:
            if record.client_order_id in self._in_flight:
                continue
            try:
                found = self._find_by_remark(record.remark)
            except BridgeError as exc:
                log.warning("cannot reconcile %s yet: %s", record.client_order_id, exc.message)
                return
            if found is not None:
                self._adopt(record, found)

    def _resolve(self, order_ref: str) -> tuple[Optional[Record], Any]:
        day = self._day()
        record = self._store.get(self._account, day, order_ref) or self._store.by_broker_id(
            self._account, day, order_ref
        )
        if record is not None and record.broker_order_id:
            order = self._query_order(int(record.broker_order_id))
            return record, order or self._find_by_remark(record.remark)
        if record is not None:
            found = self._find_by_remark(record.remark)
            if found is not None and record.client_order_id not in self._in_flight:
                self._adopt(record, found)
            return record, found
        if order_ref.isdigit():
            order = self._query_order(int(order_ref))
            if order is not None:
                by_remark = self._store.by_remark(self._account, day, str(order.order_remark or ""))
                return by_remark, order
        return None, None

    def _query_order(self, order_id: int) -> Any:
        return self._session.query(lambda t, a: t.query_stock_order(a, order_id), self._deadline,
                                   key=("query_stock_order", order_id), label="query_stock_order")

    def _find_by_remark(self, remark: str) -> Any:
        for order in self._today_orders():
            if str(order.order_remark or "") == remark:
                return order
        return None

    def _today_orders(self) -> list[Any]:
        """xtquant answers None both for "no orders" and for a failed query (brokers.md §2.3):
        only when the asset query works too is None taken to mean an empty day."""
        orders = self._session.query(self._session.list_orders, self._deadline,
                                     key="query_stock_orders", label="query_stock_orders")
        if orders is not None:
            return list(orders)
        asset = self._session.query(self._session.query_asset, self._deadline,
                                    key="query_asset", label="query_asset")
        if asset is None:
            raise errors.not_ready("QMT cannot list today's orders right now")
        return []

    def _order_json(self, order: Any, record: Optional[Record],
                    cancels: Optional[dict[str, CancelRecord]] = None) -> dict[str, Any]:
        order_id = str(order.order_id)
        updated = self._pushed_at.get(order_id) or float(getattr(order, "order_time", 0) or 0)
        cid = record.client_order_id if record else _client_id(order)
        result = order_json(order, cid, updated or self._clock(), self._errors.get(order_id))
        attempt = (cancels.get(order_id) if cancels is not None
                   else self._store.cancel_of(self._account, self._day(), order_id))
        if attempt is not None:
            result["cancel"] = self._cancel_view(attempt, order)
        return result

    def _cancel_view(self, attempt: CancelRecord, order: Any) -> dict[str, Any]:
        """The last cancel attempt as the client sees it: pending (at the counter or being
        sent), unknown (may or may not have reached it), refused, or done (the order is final)."""
        if status_of(order.order_status) in FINAL_STATUSES:
            state = "done"
        elif attempt.state == "sending":
            # Not running in this process: the bridge died during the call.
            state = "pending" if attempt.broker_order_id in self._cancelling else "unknown"
        elif attempt.state == "sent":
            state = "pending"
        else:
            state = attempt.state
        view: dict[str, Any] = {"state": state, "requested_at": iso_time(attempt.requested_at),
                                "attempts": attempt.attempts}
        if attempt.message and state != "done":
            view["message"] = attempt.message
        return view

    def _unseen_json(self, record: Record) -> dict[str, Any]:
        """An order QMT does not list (yet): still in flight, refused, or lost in a crash."""
        fields = _fingerprint_fields(record)
        if record.state == "rejected":
            status, message = "rejected", (record.response or {}).get("error", {}).get("message")
        elif record.client_order_id in self._in_flight:
            status, message = "pending_new", "being sent to QMT"
        elif record.state == "placed":
            status, message = "submitted", None
        elif record.state == "unknown":
            status = "unknown"
            message = ("QMT's answer was lost (xtquant timed out or failed after sending); the order may "
                       "still reach the counter. The bridge looks for it by order_remark and never sends it again")
        else:
            status = "unknown"
            message = "QMT has no order with this id; POST it again with the same id to place it"
        result = {
            "client_order_id": record.client_order_id,
            "broker_order_id": record.broker_order_id,
            "symbol": fields.get("symbol"),
            "side": "sell",
            "quantity": fields.get("quantity"),
            "filled_quantity": 0,
            "avg_fill_price": None,
            "limit_price": fields.get("limit_price"),
            "status": status,
            "updated_at": iso_time(record.updated_at),
        }
        if message:
            result["message"] = message
        return result


def _replay(record: Record) -> Response:
    stored = dict(record.response or {})
    if record.state == "rejected":
        error = stored.get("error", {})
        raise BridgeError(record.http_status or 422, error.get("code", "BROKER_REJECTED"), error.get("message", ""))
    return 200, {**stored, "replayed": True}


def _client_id(order: Any) -> Optional[str]:
    remark = str(getattr(order, "order_remark", "") or "")
    return remark or None


def _fingerprint_fields(record: Record) -> dict[str, Any]:
    fields: dict[str, Any] = json.loads(record.fingerprint)
    return fields
