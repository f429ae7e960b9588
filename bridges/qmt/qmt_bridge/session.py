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
from .wire import mask_account

log = logging.getLogger("qmt_bridge.session")

T = TypeVar("T")
BrokerCall = Callable[[Any, Any], T]

BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

# The bridge's --account-type and what xtquant calls it (StockAccount(id, "CREDIT") stores 3).
XT_ACCOUNT_TYPES = {"stock": ("STOCK", 2), "credit": ("CREDIT", 3)}
XT_TYPE_NAMES = {2: "STOCK", 3: "CREDIT", 1: "FUTURE", 5: "FUTURE_OPTION", 6: "STOCK_OPTION",
                 7: "HUGANGTONG", 11: "SHENGANGTONG"}


class AccountMismatch(Exception):
    """miniQMT has not logged in the account the bridge is configured for, as that type."""


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
        account_type: str = "stock",
        on_cancel_error: Optional[Callable[[Any], None]] = None,
        deadline: float = 5.0,
        check_login: bool = True,
    ) -> None:
        if account_type not in XT_ACCOUNT_TYPES:
            raise ValueError(f"account type must be one of {', '.join(XT_ACCOUNT_TYPES)}")
        self.account_id = account_id
        self.account_type = account_type
        self._on_cancel_error = on_cancel_error
        self._deadline = deadline
        self._check_login = check_login
        # Why the last connect was refused because of the account (None when it was not).
        self.account_problem: Optional[str] = None
        # Set when the logged-in accounts could not be listed (old build, failed query).
        self.account_unverified: Optional[str] = None
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

    @property
    def credit(self) -> bool:
        return self.account_type == "credit"

    def not_connected_error(self) -> BridgeError:
        """What a request gets while there is no usable session: the account problem, if that
        is why, worded for the operator (retrying does not help until they act)."""
        if self.account_problem:
            return BridgeError(503, "BRIDGE_NOT_READY", self.account_problem, False)
        return disconnected()

    def query_asset(self, trader: Any, account: Any) -> Any:
        """The account's money. A credit account's is query_credit_detail (XtCreditDetail,
        m_d... fields); query_stock_asset is the fallback where that is missing or empty."""
        if self.credit and hasattr(trader, "query_credit_detail"):
            details = trader.query_credit_detail(account)
            if details:
                return CreditAsset(details[0])
        return trader.query_stock_asset(account)

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
                raise self.not_connected_error()
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
            self.account_problem = None  # unknown again until miniQMT answers
            _quietly(trader.stop)
            return False
        xt_name, _ = XT_ACCOUNT_TYPES[self.account_type]
        account = StockAccount(self.account_id, xt_name)
        try:
            self._check_account(trader)
        except AccountMismatch as exc:
            if str(exc) != self.account_problem:
                log.error("%s", exc)
            self.account_problem = str(exc)
            _quietly(trader.stop)
            return False
        self.account_problem = None
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

    def _check_account(self, trader: Any) -> None:
        """Refuses a session whose miniQMT has not logged in this account as this type: a credit
        account id used as STOCK (or the reverse) would send 担保品卖出 to the wrong counter, or
        fail order by order with nothing but -1. Builds before 2022-06-27 cannot list accounts;
        then the check is skipped and /v1/health says so."""
        if not self._check_login:
            return
        lister = getattr(trader, "query_account_infos", None)
        if lister is None:
            self._unverified("this xtquant build has no query_account_infos (added 2022-06-27)")
            return
        # Its own thread, not a lane: the lanes may be full of calls hung on the dead session.
        future: "Future[Any]" = Future()

        def run() -> None:
            try:
                future.set_result(lister())
            except BaseException as exc:  # handed to the waiting side
                future.set_exception(exc)

        threading.Thread(target=run, name="qmt-account-check", daemon=True).start()
        try:
            infos = future.result(timeout=self._deadline)
        except FutureTimeout:
            self._unverified("query_account_infos did not answer in time")
            return
        except Exception as exc:  # xtquant's own exception types
            self._unverified(f"query_account_infos failed ({type(exc).__name__})")
            return
        if not infos:
            self._unverified("query_account_infos listed no accounts")
            return
        self.account_unverified = None
        xt_name = XT_ACCOUNT_TYPES[self.account_type][0]
        same_id = [info for info in infos if str(getattr(info, "account_id", "")) == self.account_id]
        # The doc gives XtAccountInfo.account_type as the int of the data dictionary (2, 3); a
        # build that sends the name ('CREDIT') is read the same way.
        if any(_type_name(getattr(info, "account_type", None)) == xt_name for info in same_id):
            return
        masked = mask_account(self.account_id)
        listed = ", ".join(
            f"{mask_account(str(getattr(i, 'account_id', '')))} {_type_name(getattr(i, 'account_type', None))}"
            for i in infos)
        if same_id:
            kinds = " and ".join(sorted({_type_name(getattr(i, "account_type", None)) for i in same_id}))
            raise AccountMismatch(
                f"miniQMT has account {masked} logged in as {kinds}, but the bridge runs with --account-type "
                f"{self.account_type} ({xt_name}); start it with the matching --account-type (a 融资融券 account "
                f"is credit) or log that account in; nothing is sent until they match")
        raise AccountMismatch(
            f"miniQMT has no {xt_name} account {masked} logged in (it lists: {listed}); log it in "
            f"on the QMT terminal or correct --account/--account-type; nothing is sent until then")

    def _unverified(self, why: str) -> None:
        message = (f"the bridge could not check that account {mask_account(self.account_id)} is logged in as "
                   f"{XT_ACCOUNT_TYPES[self.account_type][0]}: {why}")
        if message != self.account_unverified:
            log.warning("%s", message)
        self.account_unverified = message

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

    def _cancel_failed(self, error: Any) -> None:
        if self._on_cancel_error is not None:
            self._on_cancel_error(error)


class CreditAsset:
    """An XtCreditDetail read as the XtAsset fields the bridge uses, plus the debt."""

    def __init__(self, detail: Any) -> None:
        self.total_asset = getattr(detail, "m_dBalance", None)
        self.cash = getattr(detail, "m_dAvailable", None)
        self.market_value = getattr(detail, "m_dMarketValue", None)
        self.total_debt = getattr(detail, "m_dTotalDebt", None)
        self.maintenance_ratio = getattr(detail, "m_dPerAssurescaleValue", None)


def _int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _type_name(value: Any) -> str:
    if isinstance(value, str) and not value.strip().isdigit():
        return value.strip().upper()
    number = _int(value)
    if number is None:
        return str(value)
    return XT_TYPE_NAMES.get(number, f"type {number}")




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

        def on_cancel_error(self, cancel_error: Any) -> None:
            session._cancel_failed(cancel_error)

    return Callback()


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:  # a dying trader may throw on stop(); the new one matters
        log.debug("ignored during stop: %s", exc)
