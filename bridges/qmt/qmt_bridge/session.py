"""One logged-in XtQuantTrader session, rebuilt after every disconnect.

xtquant's connect() is one-shot ("断开连接后不会重连"), so after on_disconnected the old trader is
stopped and a new XtQuantTrader is built and connected, with backoff, on a fresh session id.
Every broker call runs on a lane (lanes.py) so a hung xtquant call gets a deadline and cannot
take the workers other requests need.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Hashable, Optional, TypeVar

from .capabilities import Capabilities, detect, legacy_capabilities
from .errors import BridgeError, disconnected, not_ready
from .lanes import Lane, LaneFull

log = logging.getLogger("qmt_bridge.session")

T = TypeVar("T")
BrokerCall = Callable[[Any, Any], T]

BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class BrokerTimeout(Exception):
    """A broker call outlived its deadline; it may still complete later."""


class QmtSession:
    def __init__(
        self,
        qmt_path: str,
        account_id: str,
        session_id: int,
        backoff: tuple[float, ...] = BACKOFF_SECONDS,
        on_order: Optional[Callable[[Any], None]] = None,
        on_order_error: Optional[Callable[[Any], None]] = None,
        stuck_after: float = 5.0,
    ) -> None:
        self.account_id = account_id
        self._qmt_path = qmt_path
        self._next_session_id = session_id
        self._backoff = backoff
        self._on_order = on_order
        self._on_order_error = on_order_error
        self._lock = threading.Lock()
        self._trader: Any = None
        self._account: Any = None
        self._generation = 0
        self._connected = False
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self.caps = Capabilities()
        self._lanes = {
            "orders": Lane("orders", 4, stuck_after),
            "queries": Lane("queries", 6, stuck_after),
        }
        self._keeper = threading.Thread(target=self._keep_connected, name="qmt-connect", daemon=True)

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        self._keeper.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._keeper.join(timeout=5)
        with self._lock:
            trader, self._trader, self._connected = self._trader, None, False
        if trader is not None:
            _quietly(trader.stop)
        for lane in self._lanes.values():
            lane.shutdown()

    def hung_calls(self) -> list[str]:
        """Hung calls of the current lanes (those left behind on a dead trader are not counted)."""
        return [f"{name}:{label}" for name, lane in self._lanes.items() for label in lane.hung()]

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._connected:
                return True
            time.sleep(0.01)
        return self._connected

    def submit(self, call: BrokerCall[T], lane: str = "orders", key: Optional[Hashable] = None,
               label: str = "") -> "Future[T]":
        """Runs call(trader, account) on a lane; raises 503 at once when disconnected or when
        the lane's workers are all held by hung calls. Calls with the same key share one run."""
        with self._lock:
            if not self._connected:
                raise disconnected()
            trader, account, generation = self._trader, self._account, self._generation
        try:
            return self._lanes[lane].submit(call, trader, account, key=(generation, key) if key else None,
                                            label=label)
        except LaneFull as exc:
            raise not_ready(f"xtquant is not answering: {exc}") from exc

    def call(self, call: BrokerCall[T], deadline: float, lane: str = "orders",
             key: Optional[Hashable] = None, label: str = "") -> T:
        future = self.submit(call, lane, key, label)
        try:
            return future.result(timeout=deadline)
        except FutureTimeout as exc:
            raise BrokerTimeout() from exc

    def list_orders(self, trader: Any, account: Any) -> Any:
        """Today's orders on whichever query_stock_orders this build has (capabilities.py)."""
        if self.caps.cancelable_only:
            try:
                return trader.query_stock_orders(account, False)
            except TypeError:
                # A build whose signature could not be read and that turns out to be the old one.
                orders = trader.query_stock_orders(account)
                self.caps = legacy_capabilities()
                for warning in self.caps.warnings:
                    log.warning("%s", warning)
                return orders
        return trader.query_stock_orders(account)

    def query(self, call: BrokerCall[T], deadline: float, key: Optional[Hashable] = None,
              label: str = "") -> T:
        """A read: a hung or failed query is a retryable 503, never an order outcome."""
        try:
            return self.call(call, deadline, "queries", key, label)
        except BrokerTimeout as exc:
            raise not_ready("QMT did not answer the query in time") from exc
        except BridgeError:
            raise
        except Exception as exc:  # xtquant raises its own types; the client only needs "retry"
            log.warning("query failed: %s", exc)
            raise not_ready("QMT query failed") from exc

    def _keep_connected(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            if self._connected:
                self._wake.wait()
                self._wake.clear()
                attempt = 0
                continue
            if self._connect_once():
                continue
            delay = self._backoff[min(attempt, len(self._backoff) - 1)]
            attempt += 1
            log.info("miniQMT not reachable; retrying in %.0fs", delay)
            self._stopping.wait(delay)

    def _connect_once(self) -> bool:
        from xtquant import xttrader
        from xtquant.xttype import StockAccount

        XtQuantTrader = xttrader.XtQuantTrader
        caps = detect(XtQuantTrader)
        if caps != self.caps:
            for warning in caps.warnings:
                log.warning("%s", warning)
            self.caps = caps

        with self._lock:
            old, self._trader = self._trader, None
            self._generation += 1
            generation = self._generation
            session_id = self._next_session_id
            self._next_session_id += 1
        if old is not None:
            _quietly(old.stop)
        trader = XtQuantTrader(self._qmt_path, session_id)
        trader.register_callback(_make_callback(self, generation))
        trader.start()
        rc = trader.connect()
        if rc != 0:
            log.warning("connect() to miniQMT returned %s (session %s)", rc, session_id)
            _quietly(trader.stop)
            return False
        account = StockAccount(self.account_id)
        if trader.subscribe(account) != 0:
            log.warning("subscribe() for the account failed (session %s)", session_id)
            _quietly(trader.stop)
            return False
        with self._lock:
            if generation != self._generation or self._stopping.is_set():
                _quietly(trader.stop)
                return False
            self._trader, self._account, self._connected = trader, account, True
            for name, lane in list(self._lanes.items()):
                if lane.hung():
                    # Calls stuck on the dead trader keep their threads until xtquant lets go;
                    # the new session gets fresh workers instead of waiting behind them.
                    self._lanes[name] = Lane(name, lane.workers, lane.stuck_after)
                    lane.shutdown()
        log.info("connected to miniQMT (session %s)", session_id)
        return True

    def _lost(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # a stale callback from a trader we already replaced
            self._connected = False
        log.warning("miniQMT disconnected; reconnecting")
        self._wake.set()

    def _order_pushed(self, order: Any) -> None:
        if self._on_order is not None:
            self._on_order(order)

    def _order_failed(self, error: Any) -> None:
        if self._on_order_error is not None:
            self._on_order_error(error)


def _make_callback(session: QmtSession, generation: int) -> Any:
    """Built lazily so the package imports without xtquant (e.g. for --help)."""
    from xtquant.xttrader import XtQuantTraderCallback

    class Callback(XtQuantTraderCallback):  # type: ignore[misc, valid-type]
        # Callbacks run on xtquant's single push thread: do nothing slow here.
        def on_disconnected(self) -> None:
            session._lost(generation)

        def on_stock_order(self, order: Any) -> None:
            session._order_pushed(order)

        def on_order_error(self, order_error: Any) -> None:
            session._order_failed(order_error)

    return Callback()


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:  # a dying trader may throw on stop(); the new one matters
        log.debug("ignored during stop: %s", exc)
