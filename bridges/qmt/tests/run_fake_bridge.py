#!/usr/bin/env python3
"""Runs the real QMT bridge as a process on loopback against the fake xtquant/xtdata, for
end-to-end tests from another language (SealGuard's TypeScript e2e tests):

    python3 bridges/qmt/tests/run_fake_bridge.py --token T [--port 0] [--control-port 0]
        [--clock 2026-11-24T10:01:02+08:00] [--legacy] [--keepalive 3] [--account-type stock|credit]
        [--cancel-wait 2]

It prints ONE line of JSON on stdout once both servers listen, then serves until SIGTERM/SIGINT,
or, with --exit-on-stdin-close, until its stdin closes (so a test runner that dies takes it along):

    {"bridge": "http://127.0.0.1:40123", "control": "http://127.0.0.1:40124", "pid": 4242}

`bridge` speaks BRIDGE-PROTOCOL.md (Bearer token as given). `control` drives the fake market and
counter, without auth, loopback only; every body is JSON, every answer `{"ok": true, ...}`:

    POST /fake/detail   {"symbol","name","pre_close","up","down"[, "tick_size"]}  get_instrument_detail
    POST /fake/tick     {"symbol","last","prev_close","bids":[[price, shares],...],"asks":[...],
                         "shares","amount"[, "timetag":"YYYYMMDD HH:MM:SS","open_int":13,
                         "units":"lots|shares|shares_no_pvolume","push":true]}
                        or {"symbol", "raw": {<an xtdata tick dict>}}: the tick changes, and the
                        subscription hears of it (xtdata pushes only changed codes)
    POST /fake/drop     the quote service goes away (streams end, new ones get 503)
    POST /fake/restore  it comes back (the bridge reconnects and subscribes again)
    POST /fake/counter  {"refuse": bool, "lose_ack": bool, "land_after": seconds|null, "reachable": bool}
    POST /fake/position {"symbol","volume","can_use_volume","avg_price","last_price"[, "name",
                         "credit": true (a position of the credit account)]}
    POST /fake/disconnect   miniQMT's trading connection drops (on_disconnected)
    POST /fake/accounts {"accounts": [{"account_id","account_type":"STOCK|CREDIT"}]}: what miniQMT
                        has logged in (query_account_infos); the bridge refuses a mismatch
    POST /fake/cancel   {"confirm_after": seconds|null, "final_answer": "minus_one|error_push",
                         "refuse": [error_id, "message"]|null, "lose_ack": bool, "hang": bool}:
                        how the counter treats cancels (null confirm_after: only /fake/confirm_cancel)
    POST /fake/confirm_cancel {"order_id"}   the counter confirms a held cancel (54, or 53 if part-filled)
    POST /fake/fill     {"order_id","volume","price"}   a trade (55/56, or 52 while a cancel is held)
    GET  /fake/orders   {"ok": true, "orders": [...], "order_calls": [...], "cancel_calls": [...],
                         "order_accounts": [[id, type], ...]}
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fake_xtquant"))
sys.path.insert(0, os.path.dirname(HERE))

from xtquant import xttrader  # noqa: E402
from xtquant.fake_counter import COUNTER  # noqa: E402
from xtquant.fake_market import MARKET, detail, tick  # noqa: E402
from xtquant.xttype import XtAccountInfo, XtPosition  # noqa: E402

from qmt_bridge.server import Bridge, BridgeConfig  # noqa: E402


def clock_from(start: str) -> Callable[[], float]:
    """A clock starting at `start` (ISO with offset) and running at wall speed."""
    began, origin = time.time(), datetime.fromisoformat(start).timestamp()
    return lambda: origin + (time.time() - began)


def control_handler() -> type[BaseHTTPRequestHandler]:
    class Control(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/fake/orders":
                orders = [{"order_id": o.order_id, "stock_code": o.stock_code, "order_volume": o.order_volume,
                           "price": o.price, "order_status": o.order_status, "order_remark": o.order_remark,
                           "traded_volume": o.traded_volume, "account_type": o.account_type}
                          for o in COUNTER.orders.values()]
                self._json(200, {"ok": True, "orders": orders, "order_calls": [list(c) for c in COUNTER.order_calls],
                                 "cancel_calls": list(COUNTER.cancel_calls),
                                 "order_accounts": [list(a) for a in COUNTER.order_accounts]})
                return
            self._json(404, {"ok": False, "error": f"no {self.path}"})

        def do_POST(self) -> None:
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                self._json(200, {"ok": True, **(self._act(body) or {})})
            except (KeyError, TypeError, ValueError) as exc:
                self._json(400, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})

        def _act(self, body: dict[str, Any]) -> Any:
            if self.path == "/fake/detail":
                MARKET.details[body["symbol"]] = detail(body.get("name", ""), body["pre_close"], body["up"],
                                                        body["down"], body.get("tick_size", 0.01))
            elif self.path == "/fake/tick":
                data = body.get("raw") or tick(
                    body["last"], body["prev_close"], [tuple(b) for b in body.get("bids", [])],
                    [tuple(a) for a in body.get("asks", [])], int(body.get("shares", 0)),
                    float(body.get("amount", 0.0)), body.get("timetag", "20261124 10:01:03"),
                    int(body.get("open_int", 13)), body.get("units", "lots"))
                MARKET.set(body["symbol"], data, push=bool(body.get("push", True)))
            elif self.path == "/fake/drop":
                MARKET.drop()
            elif self.path == "/fake/restore":
                MARKET.restore()
            elif self.path == "/fake/counter":
                for name in ("refuse", "lose_ack", "land_after", "reachable"):
                    if name in body:
                        setattr(COUNTER, name, body[name])
            elif self.path == "/fake/position":
                credit = bool(body.get("credit", False))
                held = COUNTER.credit_positions if credit else COUNTER.positions
                held = [p for p in held if p.stock_code != body["symbol"]] + [XtPosition(
                    "1000000365", body["symbol"], int(body["volume"]), int(body["can_use_volume"]),
                    float(body.get("avg_price", 0.0)), float(body.get("avg_price", 0.0)),
                    int(body["volume"]) * float(body.get("last_price", 0.0)),
                    instrument_name=body.get("name", ""), last_price=float(body.get("last_price", 0.0)),
                    account_type=3 if credit else 2)]
                if credit:
                    COUNTER.credit_positions = held
                else:
                    COUNTER.positions = held
            elif self.path == "/fake/accounts":
                types = {"STOCK": 2, "CREDIT": 3}
                COUNTER.accounts = [XtAccountInfo(str(a["account_id"]), types[str(a["account_type"]).upper()])
                                    for a in body["accounts"]]
            elif self.path == "/fake/cancel":
                if "confirm_after" in body:
                    COUNTER.cancel_confirm_after = body["confirm_after"]
                if "final_answer" in body:
                    if body["final_answer"] not in ("minus_one", "error_push"):
                        raise ValueError("final_answer must be minus_one or error_push")
                    COUNTER.cancel_final_answer = body["final_answer"]
                if "refuse" in body:
                    COUNTER.refuse_cancel = None if body["refuse"] is None else (int(body["refuse"][0]),
                                                                                  str(body["refuse"][1]))
                if "lose_ack" in body:
                    COUNTER.lose_cancel_ack = bool(body["lose_ack"])
                if "hang" in body:
                    if body["hang"]:
                        COUNTER.cancel_gate = threading.Event()
                    elif COUNTER.cancel_gate is not None:
                        COUNTER.cancel_gate.set()
                        COUNTER.cancel_gate = None
            elif self.path == "/fake/confirm_cancel":
                COUNTER.confirm_cancel(int(body["order_id"]))
            elif self.path == "/fake/fill":
                COUNTER.fill(int(body["order_id"]), int(body["volume"]), float(body["price"]))
            elif self.path == "/fake/disconnect":
                COUNTER.drop_connection()
            else:
                raise KeyError(self.path)
            return None

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Control


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--token", default=os.environ.get("SEALGUARD_BRIDGE_TOKEN", ""))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--store", default="")
    parser.add_argument("--clock", default="", help="start the bridge's clock here (ISO with +08:00)")
    parser.add_argument("--legacy", action="store_true", help="run on the pre-mid-2022 xtquant build")
    parser.add_argument("--keepalive", type=float, default=3.0)
    parser.add_argument("--deadline", type=float, default=5.0)
    parser.add_argument("--account-type", choices=("stock", "credit"), default="stock",
                        help="the bridge's --account-type; the fake logs that type in unless /fake/accounts says otherwise")
    parser.add_argument("--cancel-wait", type=float, default=2.0)
    parser.add_argument("--exit-on-stdin-close", action="store_true",
                        help="stop when stdin reaches EOF (spawn it with a stdin pipe)")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or SEALGUARD_BRIDGE_TOKEN) is required")
    if args.legacy:
        xttrader.XtQuantTrader = xttrader.LegacyXtQuantTrader  # type: ignore[misc]
        xttrader.LegacyXtQuantTrader.ORDER_WAIT = 0.2
    COUNTER.accounts = [XtAccountInfo("1000000365", 3 if args.account_type == "credit" else 2)]
    store = args.store or os.path.join(tempfile.mkdtemp(prefix="sg-fake-qmt-"), "orders.sqlite3")
    config = BridgeConfig(token=args.token, qmt_path=r"D:\QMT\userdata_mini", account="1000000365",
                          session_id=561203, store_path=store, port=args.port, deadline=args.deadline,
                          keepalive=args.keepalive, quote_probe=0.5, backoff=(0.2, 0.5, 1.0),
                          account_type=args.account_type, cancel_wait=args.cancel_wait)
    bridge = Bridge(config, clock=clock_from(args.clock) if args.clock else time.time)
    bridge.start()
    control = ThreadingHTTPServer(("127.0.0.1", args.control_port), control_handler())
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    bridge.session.wait_connected(5)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def stdin_closed() -> None:
        try:
            while sys.stdin.read(1):
                pass
        except (OSError, ValueError):
            pass
        done.set()

    if args.exit_on_stdin_close:
        threading.Thread(target=stdin_closed, daemon=True).start()
    print(json.dumps({"bridge": f"http://127.0.0.1:{bridge.port}",
                      "control": f"http://127.0.0.1:{control.server_address[1]}", "pid": os.getpid()}),
          flush=True)
    while not done.wait(0.5):
        pass
    control.shutdown()
    bridge.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
