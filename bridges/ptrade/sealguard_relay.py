# -*- coding: utf-8 -*-
"""SealGuard relay strategy for PTrade (恒生 PTrade). Contract: bridges/ptrade/README.md.

PTrade strategies cannot be called from outside, so this strategy polls SealGuard every 3 s for
commands (place / cancel / snapshot), executes each command at most once, and posts the results
back. On the same 3 s cycle it posts get_snapshot() of the codes in the relay's `watch` list to
POST /v1/relay/quotes (the quote stream of BRIDGE-PROTOCOL.md v1.1). PTrade injects its API
(order, cancel_order, get_orders, get_order, get_positions, get_snapshot, run_interval,
get_research_path, log, g) as globals; nothing here imports it.

Written for Python 3.5 syntax (older PTrade servers run 3.5): no f-strings, no variable
annotations, typing only in signatures.
"""
import json
import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional

from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

# ---- edit these three lines in PTrade ------------------------------------------------------
RELAY_URL = "https://sealguard.example.com:8443"  # where SealGuard (BROKER=ptrade) listens
RELAY_TOKEN = "paste BROKER_TOKEN here"  # the same token SealGuard is configured with
ACCOUNT_TAIL = "0365"  # last 4 digits of the fund account, shown masked as ****0365
# ---------------------------------------------------------------------------------------------

POLL_SECONDS = 3  # PTrade's minimum run_interval
SNAPSHOT_EVERY = 10  # polls between unsolicited snapshots (30 s)
HTTP_TIMEOUT = 2.0  # below POLL_SECONDS so a dead relay never stacks polls
STATE_FILE = "sealguard_relay_state.json"
KEEP_DAYS = 3
CLOCK = time.time  # replaced in tests

SHANGHAI = timezone(timedelta(hours=8))

# brokers.md §6.5, PTrade column.
PTRADE_STATUS = {
    "0": "pending_new", "1": "pending_new", "+": "pending_new",
    "2": "submitted", "-": "submitted", "V": "submitted",
    "7": "partially_filled",
    "3": "pending_cancel", "4": "pending_cancel",
    "8": "filled",
    "6": "cancelled",
    "5": "partially_cancelled",
    "9": "rejected",
}
FINAL = ("filled", "cancelled", "partially_cancelled", "rejected")

# get_snapshot trade_status (PTrade API doc, get_snapshot 字段备注): halts and suspensions are
# "suspended", DELISTED is "delisted"; every session phase (START, OCALL, TRADE, BREAK, ...) is
# "normal", SealGuard reads the phase from the time.
SUSPENDED_TRADE_STATUS = ("HALT", "SUSP", "STOPT", "POSSP")


# ---- pure helpers ----------------------------------------------------------------------------

def status_of(code: Any) -> str:
    return PTRADE_STATUS.get(str(code), "unknown")


def to_ptrade(symbol: str) -> str:
    """Protocol symbols end in .SH/.SZ/.BJ; PTrade calls Shanghai .SS."""
    code, market = symbol.split(".")
    return code + (".SS" if market == "SH" else "." + market)


def from_ptrade(security: str) -> str:
    code, _, market = str(security).partition(".")
    market = {"SS": "SH", "XSHG": "SH", "XSHE": "SZ"}.get(market, market)
    return code + "." + market


def price_places(symbol: str) -> int:
    code, market = symbol.split(".")
    if market == "SH" and code[:1] == "5" or market == "SH" and code[:2] == "11":
        return 3
    if market == "SZ" and code[:2] in ("12", "15", "16", "18"):
        return 3
    return 2


def price_text(value: Any, symbol: str) -> Optional[str]:
    if value is None or value == "":
        return None
    try:
        return "%.*f" % (price_places(symbol), round(float(value), price_places(symbol)))
    except (TypeError, ValueError):
        return None


def money_text(value: Any) -> Optional[str]:
    try:
        return "%.2f" % float(value)
    except (TypeError, ValueError):
        return None


def iso_now(now: float) -> str:
    return datetime.fromtimestamp(now, SHANGHAI).isoformat()[:19] + "+08:00"


def day_of(now: float) -> str:
    return datetime.fromtimestamp(now, SHANGHAI).date().isoformat()


def order_fields(order: Any, client_order_id: Optional[str], now: float) -> Dict[str, Any]:
    """A PTrade Order in the shape of GET /v1/orders/{id}."""
    symbol = from_ptrade(order.symbol)
    amount = int(order.amount)
    return {
        "client_order_id": client_order_id,
        "broker_order_id": str(order.id),
        "symbol": symbol,
        "side": "sell" if amount < 0 else "buy",
        "quantity": abs(amount),
        "filled_quantity": abs(int(order.filled or 0)),
        "avg_fill_price": None,  # PTrade's Order carries no average fill price
        "limit_price": price_text(order.limit, symbol),
        "status": status_of(order.status),
        "broker_status": str(order.status),
        "updated_at": iso_now(now),
    }


def hs_time(value: Any) -> Optional[str]:
    """hsTimeStamp -> ISO time in Shanghai. The doc says YYYYMMDDHHMISS (20170711141612); its
    own sample carries milliseconds too (20220622102358580). Either way the exchange's time."""
    try:
        digits = str(int(float(value)))
    except (TypeError, ValueError, OverflowError):
        return None
    if len(digits) not in (14, 17):
        return None
    text = "%s-%s-%sT%s:%s:%s+08:00" % (digits[0:4], digits[4:6], digits[6:8], digits[8:10],
                                        digits[10:12], digits[12:14])
    try:
        datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return text


def trade_status_of(value: Any) -> str:
    text = str(value or "").upper()
    if text == "DELISTED":
        return "delisted"
    return "suspended" if text in SUSPENDED_TRADE_STATUS else "normal"


def book_of(levels: Any, symbol: str) -> List[List[Any]]:
    """bid_grp/offer_grp {1: [price, qty, count, {queue}], 2: [...], ...}: qty is in shares."""
    if not isinstance(levels, dict):
        return []
    found = []  # type: List[List[Any]]
    for level in sorted(k for k in levels if str(k).isdigit()):
        entry = levels[level]
        if not isinstance(entry, (list, tuple)) or len(entry) < 2:
            continue
        price, quantity = entry[0], entry[1]
        try:
            if float(price) <= 0 or int(quantity) <= 0:
                continue  # an empty level (no asks at limit-up)
        except (TypeError, ValueError):
            continue
        found.append([price_text(price, symbol), int(quantity)])
    return found


def limit_text(value: Any, symbol: str) -> Optional[str]:
    try:
        return price_text(value, symbol) if float(value) > 0 else None
    except (TypeError, ValueError):
        return None


def quote_event(security: str, snapshot: Any) -> Optional[Dict[str, Any]]:
    """One get_snapshot entry as a quote stream event (without seq); None when unusable."""
    if not isinstance(snapshot, dict):
        return None
    symbol = from_ptrade(security)
    time_text = hs_time(snapshot.get("hsTimeStamp"))
    last = price_text(snapshot.get("last_px"), symbol)
    if time_text is None or last is None:
        return None
    try:
        volume = int(snapshot.get("business_amount") or 0)
    except (TypeError, ValueError):
        volume = 0
    return {
        "symbol": symbol,
        "time": time_text,
        "status": trade_status_of(snapshot.get("trade_status")),
        "last": last,
        "prev_close": price_text(snapshot.get("preclose_px"), symbol),
        "limit_up": limit_text(snapshot.get("up_px"), symbol),
        "limit_down": limit_text(snapshot.get("down_px"), symbol),
        "bids": book_of(snapshot.get("bid_grp"), symbol),
        "asks": book_of(snapshot.get("offer_grp"), symbol),
        "volume": volume,
        "amount": money_text(snapshot.get("business_balance") or 0),
    }


def failure(command: Dict[str, Any], code: str, message: str, status: str = "rejected") -> Dict[str, Any]:
    order = command.get("order") or {}
    return {
        "command_id": command.get("command_id"),
        "kind": command.get("kind"),
        "ok": False,
        "client_order_id": order.get("client_order_id"),
        "status": status,
        "error": {"code": code, "message": message},
    }


def sell_problem(order: Any) -> Optional[str]:
    """Why a place command's order cannot be sent as-is, or None."""
    if not isinstance(order, dict):
        return "order must be an object"
    if order.get("side") != "sell":
        return "only sells are relayed"
    if order.get("order_type", "limit") != "limit":
        return "order_type must be limit"
    quantity = order.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        return "quantity must be a positive integer"
    symbol = order.get("symbol")
    if not isinstance(symbol, str) or len(symbol) != 9 or symbol[6:] not in (".SH", ".SZ", ".BJ"):
        return "symbol must look like 600000.SH"
    try:
        if float(order.get("limit_price")) <= 0:
            return "limit_price must be positive"
    except (TypeError, ValueError):
        return "limit_price must be a decimal string"
    if not order.get("client_order_id"):
        return "client_order_id is required"
    return None


# ---- transport -------------------------------------------------------------------------------

class RelayHttp(object):
    """urllib only: PTrade sandboxes may lack requests, and urllib is always there."""

    def __init__(self, base_url: str, token: str, timeout: float = HTTP_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def get_json(self, path: str) -> Any:
        return self._send(Request(self.base_url + path, method="GET"))

    def post_json(self, path: str, body: Any) -> Any:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = Request(self.base_url + path, data=data, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        return self._send(request)

    def _send(self, request: Any) -> Any:
        request.add_header("Authorization", "Bearer " + self.token)
        response = urlopen(request, timeout=self.timeout)
        try:
            raw = response.read()
        finally:
            response.close()
        return json.loads(raw.decode("utf-8")) if raw else None


# ---- state -----------------------------------------------------------------------------------

def empty_state() -> Dict[str, Any]:
    # done:    command_id -> {"day", "result"}: produced once, re-sent but never re-executed
    # started: command_id -> place command whose order() call has begun (crash window)
    # orders:  client_order_id -> {"broker_order_id", "day"}
    # outbox:  results not yet accepted by SealGuard
    return {"cursor": "", "done": {}, "started": {}, "orders": {}, "outbox": [], "polls": 0}


class StateFile(object):
    """g is pickled by PTrade only after handle_data/before_trading_start/after_trading_end,
    not after run_interval callbacks; so the state is also written to a file, fsynced, after
    every change, and that file wins on restart."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path

    def load(self) -> Optional[Dict[str, Any]]:
        if not self.path or not os.path.exists(self.path):
            return None
        with open(self.path, "r", encoding="utf-8") as handle:
            return json.load(handle)

    def save(self, state: Dict[str, Any]) -> None:
        if not self.path:
            return
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(state, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


# ---- the relay -------------------------------------------------------------------------------

class Relay(object):
    def __init__(self, state: Dict[str, Any], api: Any, http: Any, store: StateFile,
                 clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.api = api
        self.http = http
        self.store = store
        self.clock = clock
        self.watch = []  # type: List[str]
        self.quote_seq = 0

    def poll(self, context: Any) -> None:
        """One cycle: run new commands, post every unacknowledged result with a snapshot, then
        the watched codes' quotes."""
        self.state["polls"] = int(self.state.get("polls", 0)) + 1
        want_snapshot = self.state["polls"] % SNAPSHOT_EVERY == 1
        commands = self.fetch()
        for command in commands:
            if self.run(command, context):
                want_snapshot = True
            cursor = command.get("cursor")
            if cursor is not None:
                self.state["cursor"] = str(cursor)
            self.store.save(self.state)
        if self.state["outbox"] or want_snapshot:
            self.flush(self.snapshot(context))
        self.post_quotes()

    def fetch(self) -> List[Dict[str, Any]]:
        """v1 relays answer a list of commands; v1.1 relays {"commands": [...], "watch": [...]}."""
        path = "/v1/relay/commands?after=" + _quote(self.state.get("cursor", ""))
        try:
            answer = self.http.get_json(path)
        except (HTTPError, URLError, OSError, ValueError) as exc:
            self.api.log.warning("sealguard relay: cannot fetch commands: %s" % exc)
            return []
        if isinstance(answer, dict):
            watch = answer.get("watch")
            if isinstance(watch, list):
                self.watch = [w for w in watch if isinstance(w, str) and len(w) == 9 and w[6:] in (".SH", ".SZ", ".BJ")]
            commands = answer.get("commands")
        else:
            commands = answer
        return [c for c in commands or [] if isinstance(c, dict) and c.get("command_id")]

    def post_quotes(self) -> None:
        """get_snapshot of the watched codes to POST /v1/relay/quotes. Quotes go stale in 3 s,
        so one that cannot be delivered is dropped, never queued for the next cycle."""
        if not self.watch:
            return
        try:
            snapshots = self.api.get_snapshot([to_ptrade(s) for s in self.watch])
        except Exception as exc:  # get_snapshot exists only in the trading module
            self.api.log.warning("sealguard relay: get_snapshot failed: %s" % exc)
            return
        quotes = []  # type: List[Dict[str, Any]]
        for symbol in self.watch:
            security = to_ptrade(symbol)
            event = quote_event(security, (snapshots or {}).get(security))
            if event is None:
                continue  # unknown code, or no time yet: nothing trustworthy to send
            self.quote_seq += 1
            event["seq"] = self.quote_seq
            quotes.append(event)
        if not quotes:
            return
        try:
            self.http.post_json("/v1/relay/quotes", {"quotes": quotes})
        except (HTTPError, URLError, OSError, ValueError) as exc:
            self.api.log.warning("sealguard relay: quotes not delivered (dropped): %s" % exc)

    def flush(self, snapshot: Optional[Dict[str, Any]]) -> bool:
        outbox = list(self.state["outbox"])
        if not outbox and snapshot is None:
            return True
        body = {"results": outbox}  # type: Dict[str, Any]
        if snapshot is not None:
            body["snapshot"] = snapshot
        try:
            self.http.post_json("/v1/relay/results", body)
        except (HTTPError, URLError, OSError, ValueError) as exc:
            self.api.log.warning("sealguard relay: results not delivered, will retry: %s" % exc)
            return False
        sent = set(id(r) for r in outbox)
        self.state["outbox"] = [r for r in self.state["outbox"] if id(r) not in sent]
        self.store.save(self.state)
        return True

    def run(self, command: Dict[str, Any], context: Any) -> bool:
        """Executes a command once; a command seen before only has its result re-sent."""
        command_id = str(command["command_id"])
        done = self.state["done"]
        if command_id in done:
            self._report(done[command_id]["result"])
            return False
        kind = command.get("kind")
        if kind == "place":
            result = self._place(command)
        elif kind == "cancel":
            result = self._cancel(command)
        elif kind == "snapshot":
            result = {"command_id": command_id, "kind": "snapshot", "ok": True}
        else:
            result = failure(command, "INVALID_ARGUMENT", "unknown kind %r" % (kind,))
        done[command_id] = {"day": day_of(self.clock()), "result": result}
        self.state["started"].pop(command_id, None)
        self._report(result)
        return True

    def _report(self, result: Dict[str, Any]) -> None:
        if result not in self.state["outbox"]:
            self.state["outbox"].append(result)
        self.store.save(self.state)

    def _place(self, command: Dict[str, Any]) -> Dict[str, Any]:
        command_id = str(command["command_id"])
        order = command.get("order")
        problem = sell_problem(order)
        if problem:
            return failure(command, "INVALID_ARGUMENT", problem)
        client_order_id = order["client_order_id"]
        known = self.state["orders"].get(client_order_id)
        if known:  # a new command for an id already placed: report it, never place again
            return self._placed(command, known["broker_order_id"])
        if command_id in self.state["started"]:
            return self._recover(command)
        self.state["started"][command_id] = order
        self.store.save(self.state)  # on disk before order() so a crash cannot place twice
        security = to_ptrade(order["symbol"])
        price = round(float(order["limit_price"]), price_places(order["symbol"]))
        order_id = self.api.order(security, -int(order["quantity"]), limit_price=price)
        if not order_id:
            return failure(command, "BROKER_REJECTED", "PTrade order() returned None")
        self.state["orders"][client_order_id] = {"broker_order_id": str(order_id), "day": day_of(self.clock())}
        return self._placed(command, str(order_id))

    def _recover(self, command: Dict[str, Any]) -> Dict[str, Any]:
        """order() may or may not have run before a restart: adopt a lone matching order of
        this strategy, otherwise say unknown so a human looks; never send it again."""
        order = command["order"]
        claimed = set(v["broker_order_id"] for v in self.state["orders"].values())
        matches = [o for o in self._orders()
                   if str(o.id) not in claimed
                   and from_ptrade(o.symbol) == order["symbol"]
                   and int(o.amount) == -int(order["quantity"])
                   and price_text(o.limit, order["symbol"]) == price_text(order["limit_price"], order["symbol"])]
        if len(matches) == 1:
            order_id = str(matches[0].id)
            self.state["orders"][order["client_order_id"]] = {"broker_order_id": order_id, "day": day_of(self.clock())}
            return self._placed(command, order_id)
        return failure(command, "OUTCOME_UNKNOWN",
                       "restarted while placing; %d matching orders found, check PTrade" % len(matches),
                       status="unknown")

    def _placed(self, command: Dict[str, Any], order_id: str) -> Dict[str, Any]:
        order = command.get("order") or {}
        found = self._order(order_id)
        if found is not None:
            fields = order_fields(found, order.get("client_order_id"), self.clock())
        else:
            fields = {
                "client_order_id": order.get("client_order_id"), "broker_order_id": order_id,
                "symbol": order.get("symbol"), "side": "sell", "quantity": order.get("quantity"),
                "filled_quantity": 0, "avg_fill_price": None, "limit_price": order.get("limit_price"),
                "status": "submitted", "updated_at": iso_now(self.clock()),
            }
        fields.update({"command_id": command["command_id"], "kind": command.get("kind"), "ok": True})
        return fields

    def _cancel(self, command: Dict[str, Any]) -> Dict[str, Any]:
        order = command.get("order") or {}
        known = self.state["orders"].get(order.get("client_order_id") or "")
        order_id = (known or {}).get("broker_order_id") or order.get("broker_order_id")
        found = self._order(str(order_id)) if order_id else None
        if found is None:
            return failure(command, "ORDER_NOT_FOUND", "no PTrade order for this client_order_id", "unknown")
        status = status_of(found.status)
        if status in FINAL:
            result = failure(command, "NOT_CANCELLABLE", "order is already %s" % status, status)
            result["broker_order_id"] = str(found.id)
            return result
        self.api.cancel_order(found.id)
        fields = order_fields(found, order.get("client_order_id"), self.clock())
        fields.update({"command_id": command["command_id"], "kind": "cancel", "ok": True,
                       "status": "pending_cancel"})
        return fields

    def _order(self, order_id: str) -> Any:
        try:
            found = self.api.get_order(order_id)
        except Exception:  # PTrade raises on ids it does not know in some versions
            found = None
        if isinstance(found, list):
            found = found[0] if found else None
        if found is None:
            for candidate in self._orders():
                if str(candidate.id) == order_id:
                    return candidate
        return found

    def _orders(self) -> List[Any]:
        orders = self.api.get_orders()
        if isinstance(orders, dict):
            return list(orders.values())
        return list(orders or [])

    def snapshot(self, context: Any) -> Dict[str, Any]:
        now = self.clock()
        by_broker_id = dict((v["broker_order_id"], k) for k, v in self.state["orders"].items())
        portfolio = context.portfolio
        cash = float(portfolio.cash)
        total = float(portfolio.portfolio_value)
        market_value = getattr(portfolio, "positions_value", None)
        return {
            "as_of": iso_now(now),
            "account": {
                "account_id": "****" + ACCOUNT_TAIL,
                "total_asset": money_text(total),
                "cash_available": money_text(cash),
                "market_value": money_text(total - cash if market_value is None else market_value),
            },
            "positions": [self._position(p) for p in self._positions() if int(p.amount or 0) > 0],
            "orders": [order_fields(o, by_broker_id.get(str(o.id)), now) for o in self._orders()],
        }

    def _positions(self) -> List[Any]:
        positions = self.api.get_positions()
        if isinstance(positions, dict):
            return list(positions.values())
        return list(positions or [])

    def _position(self, position: Any) -> Dict[str, Any]:
        symbol = from_ptrade(position.sid)
        last = getattr(position, "last_sale_price", None)
        amount = int(position.amount)
        return {
            "symbol": symbol,
            "name": getattr(position, "name", None),
            "quantity": amount,
            # enable_amount is what can be sold today (T+1); counters hand it over as str or float.
            "sellable_quantity": int(float(position.enable_amount or 0)),
            "avg_cost": price_text(getattr(position, "cost_basis", None), symbol),
            "last_price": price_text(last, symbol),
            "market_value": money_text(amount * float(last)) if last is not None else None,
        }

    def prune(self) -> None:
        """Forgets results and ids older than KEEP_DAYS; ids are unique per day only."""
        cutoff = day_of(self.clock() - KEEP_DAYS * 86400)
        self.state["done"] = dict((k, v) for k, v in self.state["done"].items() if v.get("day", cutoff) >= cutoff)
        self.state["orders"] = dict((k, v) for k, v in self.state["orders"].items() if v.get("day", cutoff) >= cutoff)
        self.store.save(self.state)


def _quote(text: str) -> str:
    return quote(text, safe="")


# ---- PTrade entry points (PTrade provides g, log, run_interval, get_research_path, ...) -----

def _state_path() -> Optional[str]:
    try:
        return os.path.join(get_research_path(), STATE_FILE)  # type: ignore[name-defined]  # noqa: F821
    except Exception:  # not every deployment exposes a research path
        return None


RELAY_ATTR = "__sg_relay"  # a leading "__" keeps it out of PTrade's pickling of g


def _relay() -> Relay:
    """Built on the first poll, not in initialize: PTrade restores the pickled g only after
    initialize has run."""
    relay = getattr(g, RELAY_ATTR, None)  # type: ignore[name-defined]  # noqa: F821
    if relay is None:
        store = StateFile(_state_path())
        state = store.load() or getattr(g, "sg_state", None) or empty_state()  # type: ignore[name-defined]  # noqa: F821
        relay = Relay(state, _PTradeApi(), RelayHttp(RELAY_URL, RELAY_TOKEN), store, CLOCK)
        relay.prune()
        setattr(g, RELAY_ATTR, relay)  # type: ignore[name-defined]  # noqa: F821
    return relay


class _PTradeApi(object):
    """The PTrade globals the relay uses, looked up at call time."""

    def __getattr__(self, name: str) -> Any:
        try:
            return globals()[name]
        except KeyError:
            raise AttributeError(name)


def initialize(context: Any) -> None:
    setattr(g, RELAY_ATTR, None)  # type: ignore[name-defined]  # noqa: F821
    run_interval(context, sealguard_poll, seconds=POLL_SECONDS)  # type: ignore[name-defined]  # noqa: F821


def sealguard_poll(context: Any) -> None:
    relay = _relay()
    try:
        relay.poll(context)
    except Exception as exc:  # one bad cycle must not stop the timer
        log.error("sealguard relay poll failed: %s" % exc)  # type: ignore[name-defined]  # noqa: F821
    g.sg_state = relay.state  # type: ignore[name-defined]  # noqa: F821


def before_trading_start(context: Any, data: Any) -> None:
    _relay().prune()


def handle_data(context: Any, data: Any) -> None:
    """Required by PTrade; the work happens in sealguard_poll."""
