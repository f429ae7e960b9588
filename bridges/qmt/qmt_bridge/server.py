"""HTTP front: bearer auth, routing and the error envelope of BRIDGE-PROTOCOL.md v1."""
from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

from . import errors
from .desk import OrderDesk
from .errors import BridgeError
from .quotes import QuoteHub, Stream, frames, parse_symbols
from .session import QmtSession
from .store import IdempotencyStore
from .wire import SYMBOL, account_json, iso_time, mask_account, parse_sell_order, position_json, trading_day

log = logging.getLogger("qmt_bridge.http")

MAX_BODY = 16 * 1024
ORDER_PATH = re.compile(r"^/v1/orders/([A-Za-z0-9_-]{1,64})$")
CANCEL_PATH = re.compile(r"^/v1/orders/([A-Za-z0-9_-]{1,64})/cancel$")


@dataclass
class BridgeConfig:
    token: str
    qmt_path: str
    account: str
    session_id: int
    store_path: str
    host: str = "127.0.0.1"
    port: int = 8765
    deadline: float = 5.0
    backoff: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
    # A call into xtquant running this long counts as hung (health warning; a lane full of them
    # refuses at once instead of queueing).
    stuck_after: float = 10.0
    quotes: bool = True  # GET /v1/quotes/stream from xtdata
    keepalive: float = 3.0  # seconds without an event before a ": keepalive" comment (protocol: <= 5)
    quote_probe: float = 3.0  # how often the quote service is checked, as xtdata.run() does
    quote_chunk: int = 100  # codes per get_full_tick call for first frames
    account_type: str = "stock"  # "credit": a 融资融券 account, sells are 担保品卖出 (CREDIT_SELL)
    cancel_wait: float = 2.0  # seconds a cancel waits for the counter's 54/53 before answering 202
    # A cancel that was sent (or may have been) blocks a second one for this long, unless the
    # order shows 已报待撤; after that, with the order still live, a new cancel is sent.
    cancel_retry_after: float = 30.0
    # False skips the query_account_infos check of the account's login and type (for a build
    # whose XtAccountInfo the check misreads; the README asks to report that).
    check_login: bool = True


class Bridge:
    """The running bridge: session, store, desk and HTTP server, started and stopped together."""

    def __init__(self, config: BridgeConfig, clock: Callable[[], float] = time.time) -> None:
        if not config.token:
            raise ValueError("a bearer token is required (--token or SEALGUARD_BRIDGE_TOKEN)")
        self.config = config
        self.clock = clock
        self.store = IdempotencyStore(config.store_path)
        self.session = QmtSession(
            config.qmt_path,
            config.account,
            config.session_id,
            backoff=config.backoff,
            on_order=lambda order: self.desk.order_pushed(order),
            on_order_error=lambda error: self.desk.order_failed(error),
            stuck_after=config.stuck_after,
            account_type=config.account_type,
            on_cancel_error=lambda error: self.desk.cancel_failed(error),
            deadline=config.deadline,
            check_login=config.check_login,
        )
        self.desk = OrderDesk(self.session, self.store, config.deadline, clock, config.cancel_wait,
                              config.cancel_retry_after)
        self.quotes: Optional[QuoteHub] = (
            QuoteHub(clock, config.deadline, config.quote_probe, config.backoff, config.quote_chunk,
                     config.stuck_after)
            if config.quotes else None
        )
        self.httpd = ThreadingHTTPServer((config.host, config.port), _handler_for(self))
        self.httpd.daemon_threads = True
        self._serving: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self.session.start()
        if self.quotes is not None:
            self.quotes.start()
        self._serving = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="http", daemon=True
        )
        self._serving.start()
        threading.Thread(target=self._reconcile_when_connected, name="reconcile", daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.quotes is not None:
            self.quotes.stop()
        self.session.stop()
        self.store.close()

    def _reconcile_when_connected(self) -> None:
        if self.session.wait_connected(timeout=60):
            try:
                self.desk.reconcile_pending()
            except Exception as exc:  # best effort: every POST reconciles again anyway
                log.warning("start-up reconcile failed: %s", exc)

    # -- endpoints -------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        now = self.clock()
        connected = self.session.connected
        health: dict[str, Any] = {
            "status": "ok" if connected else "degraded",
            "broker": "qmt",
            "connected": connected,
            "account_id": mask_account(self.config.account),
            "account_type": self.config.account_type,
            "trading_day": trading_day(now),
            "server_time": iso_time(now),
        }
        if self.quotes is not None:
            health["quotes"] = self.quotes.status()
        warnings = self.warnings()
        if warnings:
            health["warnings"] = warnings
        return health

    def warnings(self) -> list[str]:
        """What an operator should fix, worded for them; /v1/health lists it when non-empty."""
        found = list(self.session.caps.warnings)
        for problem in (self.session.account_problem, self.session.account_unverified):
            if problem:
                found.append(problem)
        hung = self.session.hung_calls()
        if hung:
            found.append(f"{len(hung)} xtquant call(s) have not returned for {self.config.stuck_after:.0f}s or more: "
                         + ", ".join(sorted(set(hung))))
        if self.quotes is not None:
            found.extend(self.quotes.warnings())
        return found

    def account(self) -> dict[str, Any]:
        asset = self.session.query(self.session.query_asset, self.config.deadline,
                                   key="query_asset", label="query_asset")
        if asset is None:
            raise errors.not_ready("QMT returned no account data")
        return account_json(asset, mask_account(self.config.account), self.config.account_type)

    def positions(self) -> dict[str, Any]:
        rows = self.session.query(lambda t, a: t.query_stock_positions(a), self.config.deadline,
                                  key="query_stock_positions", label="query_stock_positions")
        if rows is None:
            # None is also how xtquant says "no positions": trust it only if the account answers.
            self.account()
            rows = []
        return {"positions": [position_json(p) for p in rows if int(p.volume) > 0]}


def _handler_for(bridge: Bridge) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {bridge.config.token}".encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "SealGuardQmtBridge/1"
        protocol_version = "HTTP/1.1"

        def handle(self) -> None:
            try:
                super().handle()
            except (ConnectionResetError, BrokenPipeError):
                pass  # the client hung up between requests; nothing to answer

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            # The request line only; headers (and so the token) are never logged.
            log.info("%s %s", self.address_string(), format % args)

        def _serve(self, method: str) -> None:
            try:
                # Read the body before anything can fail: on a kept-alive connection an unread
                # body would be parsed as the next request.
                self._raw = self._read_body()
                self._authorize()
                if method == "GET" and urlsplit(self.path).path == "/v1/quotes/stream":
                    self.close_connection = True  # a stream, or its refusal, ends the connection
                    self._stream()
                    return
                status, body = self._route(method, urlsplit(self.path).path)
            except BridgeError as exc:
                status, body = exc.http_status, exc.envelope()
            except Exception:
                log.exception("unexpected failure on %s %s", method, urlsplit(self.path).path)
                status, body = 500, {
                    "error": {"code": "INTERNAL", "message": "bridge error; see its log", "retryable": True}
                }
            self._send(status, body)

        def _authorize(self) -> None:
            given = (self.headers.get("Authorization") or "").encode()
            if not hmac.compare_digest(given, expected):
                raise errors.unauthorized()

        def _route(self, method: str, path: str) -> tuple[int, Any]:
            if method == "GET":
                if path == "/v1/health":
                    return 200, bridge.health()
                if path == "/v1/account":
                    return 200, bridge.account()
                if path == "/v1/positions":
                    return 200, bridge.positions()
                if path == "/v1/orders":
                    return 200, {"orders": bridge.desk.list_today()}
                match = ORDER_PATH.match(path)
                if match:
                    return 200, bridge.desk.get(match.group(1))
            if method == "POST":
                if path == "/v1/orders":
                    order = parse_sell_order(self._json_body(), self.headers.get("Idempotency-Key"))
                    return bridge.desk.place(order)
                match = CANCEL_PATH.match(path)
                if match:
                    self._json_body(optional=True)
                    return bridge.desk.cancel(match.group(1))
            raise BridgeError(404, "NOT_FOUND", f"no endpoint {method} {path}")

        def _stream(self) -> None:
            """Server-Sent Events until the client leaves or the quote service drops."""
            if bridge.quotes is None:
                raise BridgeError(404, "NOT_FOUND", "this bridge runs without quotes (--no-quotes)")
            symbols = parse_symbols(parse_qs(urlsplit(self.path).query).get("symbols", [""])[0], SYMBOL)
            stream = bridge.quotes.open(symbols)
            self.close_connection = True
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self._pump(stream)
            except OSError:
                pass  # the client went away
            finally:
                bridge.quotes.close(stream)

        def _pump(self, stream: Stream) -> None:
            seq = 1
            self.wfile.write(b": sealguard qmt quote stream\n\n")
            while True:
                batch = stream.mailbox.take(bridge.config.keepalive)
                if batch is None:
                    reason = stream.mailbox.reason.replace("\n", " ")
                    self.wfile.write(f": end {reason}\n\n".encode("utf-8"))
                    return
                if not batch:
                    self.wfile.write(b": keepalive\n\n")
                    continue
                data, seq = frames(batch, seq)
                self.wfile.write(data)

        def _read_body(self) -> bytes:
            length_header = self.headers.get("Content-Length") or "0"
            if not length_header.isdigit():
                self.close_connection = True
                raise errors.invalid("Content-Length must be a number")
            length = int(length_header)
            if length > MAX_BODY:
                self.close_connection = True
                raise errors.invalid(f"body larger than {MAX_BODY} bytes")
            return self.rfile.read(length) if length else b""

        def _json_body(self, optional: bool = False) -> Any:
            if not self._raw:
                if optional:
                    return None
                raise errors.invalid("a JSON body is required")
            try:
                return json.loads(self._raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise errors.invalid("body is not valid UTF-8 JSON") from None

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
