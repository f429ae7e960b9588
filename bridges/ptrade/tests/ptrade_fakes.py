"""A fake PTrade runtime (the globals PTrade injects) and a local SealGuard relay stub.

get_snapshot follows the PTrade API doc (zhangwei3211/ptrademd docs/original/Ptrade东莞.md,
get_snapshot, ~L2838-2930): {security: {...}} keyed by PTrade codes (600570.SS), bid_grp /
offer_grp as {1: [price, qty, count, {queue}], 2: [price, qty, count], ...} with qty in shares,
business_amount in shares, up_px/down_px, trade_status (TRADE, HALT, SUSP, ...), hsTimeStamp as a
number (the doc's sample: 20220622102358580), an empty dict for codes it does not know."""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType, SimpleNamespace
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sealguard_relay.py")
TOKEN = "relay-token-7d3b0c9e51a2"


class FakeOrder(SimpleNamespace):
    """PTrade's Order: id, symbol, amount (sells negative), limit, filled, status."""


class FakeLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    warning = error = info


class FakePTrade:
    def __init__(self, research_path: str) -> None:
        self.research_path = research_path
        self.orders: dict[str, FakeOrder] = {}
        self.order_calls: list[tuple[str, int, Optional[float]]] = []
        self.cancel_calls: list[str] = []
        self.positions: dict[str, Any] = {}
        self.timers: list[tuple[Callable[[Any], None], int]] = []
        self.refuse = False
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.snapshot_calls: list[Any] = []
        self.log = FakeLog()
        self.g = SimpleNamespace()

    def order(self, security: str, amount: int, limit_price: Optional[float] = None) -> Optional[str]:
        self.order_calls.append((security, amount, limit_price))
        if self.refuse:
            return None
        order_id = "%032x" % (len(self.order_calls) + 0xABC000)
        self.orders[order_id] = FakeOrder(id=order_id, symbol=security, amount=amount, limit=limit_price,
                                          filled=0, status="2")
        return order_id

    def cancel_order(self, order_param: Any) -> None:
        self.cancel_calls.append(str(order_param))
        self.orders[str(order_param)].status = "3"

    def get_order(self, order_id: str) -> list[FakeOrder]:
        return [self.orders[order_id]] if order_id in self.orders else []

    def get_orders(self, security: Optional[str] = None) -> list[FakeOrder]:
        return list(self.orders.values())

    def get_positions(self, securities: Any = None) -> dict[str, Any]:
        return dict(self.positions)

    def get_snapshot(self, security: Any) -> dict[str, Any]:
        self.snapshot_calls.append(security)
        wanted = [security] if isinstance(security, str) else list(security)
        return {code: copy.deepcopy(self.snapshots[code]) for code in wanted if code in self.snapshots}

    def run_interval(self, context: Any, func: Callable[[Any], None], seconds: int = 3) -> None:
        self.timers.append((func, seconds))

    def get_research_path(self) -> str:
        return self.research_path + os.sep

    def load_strategy(self, url: str) -> ModuleType:
        """Loads sealguard_relay.py as PTrade does: a fresh module with the API as globals."""
        spec = importlib.util.spec_from_file_location("sealguard_relay_under_test", SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.__dict__.update(
            order=self.order, cancel_order=self.cancel_order, get_order=self.get_order,
            get_orders=self.get_orders, get_positions=self.get_positions, get_snapshot=self.get_snapshot,
            run_interval=self.run_interval,
            get_research_path=self.get_research_path, log=self.log, g=self.g,
            RELAY_URL=url, RELAY_TOKEN=TOKEN, ACCOUNT_TAIL="0365",
        )
        return module


def context(cash: float = 500000.0, total: float = 1023456.78) -> Any:
    return SimpleNamespace(portfolio=SimpleNamespace(cash=cash, portfolio_value=total))


class RelayStub:
    """SealGuard's side of the relay, as bridges/ptrade/README.md specifies it."""

    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []
        self.posts: list[dict[str, Any]] = []
        self.afters: list[str] = []
        self.fail_posts = 0
        self.auth_failures = 0
        self.watch: Optional[list[str]] = None  # set: answer commands in the v1.1 object form
        self.quote_posts: list[dict[str, Any]] = []
        self.fail_quote_posts = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                after = parse_qs(urlsplit(self.path).query).get("after", [""])[0]
                stub.afters.append(after)
                commands = stub.commands_after(after)
                if stub.watch is None:
                    self._json(200, commands)
                else:
                    self._json(200, {"commands": commands, "watch": stub.watch})

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if urlsplit(self.path).path == "/v1/relay/quotes":
                    if stub.fail_quote_posts > 0:
                        stub.fail_quote_posts -= 1
                        self._json(503, {"error": {"code": "BRIDGE_NOT_READY", "message": "busy", "retryable": True}})
                        return
                    stub.quote_posts.append(body)
                    self._json(200, {"accepted": len(body.get("quotes", []))})
                    return
                if stub.fail_posts > 0:
                    stub.fail_posts -= 1
                    self._json(503, {"error": {"code": "BRIDGE_NOT_READY", "message": "busy", "retryable": True}})
                    return
                stub.posts.append(body)
                self._json(200, {"accepted": len(body.get("results", []))})

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == "Bearer " + TOKEN:
                    return True
                stub.auth_failures += 1
                self._json(401, {"error": {"code": "UNAUTHORIZED", "message": "no", "retryable": False}})
                return False

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def commands_after(self, after: str) -> list[dict[str, Any]]:
        newest = max((int(c["cursor"]) for c in self.commands), default=0)
        if not after.isdigit() or int(after) > newest:
            return list(self.commands)  # unknown cursor: everything (the strategy dedupes)
        return [c for c in self.commands if int(c["cursor"]) > int(after)]

    def add(self, command_id: str, kind: str, order: dict[str, Any]) -> None:
        cursor = str(len(self.commands) + 1)
        self.commands.append({"command_id": command_id, "kind": kind, "order": order, "cursor": cursor})

    def results(self) -> list[dict[str, Any]]:
        return [r for post in self.posts for r in post["results"]]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
