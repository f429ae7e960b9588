"""Starts the real bridge on 127.0.0.1:0 against the fake xtquant in fake_xtquant/."""
from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any, Optional

FAKE_XTQUANT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_xtquant")
if FAKE_XTQUANT not in sys.path:
    sys.path.insert(0, FAKE_XTQUANT)

from xtquant.fake_counter import COUNTER  # noqa: E402
from xtquant.fake_market import MARKET  # noqa: E402

from qmt_bridge.server import Bridge, BridgeConfig  # noqa: E402
from qmt_bridge.wire import SHANGHAI  # noqa: E402

logging.getLogger("qmt_bridge").setLevel(logging.CRITICAL)  # the tests assert on answers, not logs

TOKEN = "test-token-4f1c9a7e2b6d8035"
ACCOUNT = "1000000365"
# 2026-11-24 10:01:02 in Shanghai, whatever the host's time zone.
NOW = datetime(2026, 11, 24, 10, 1, 2, tzinfo=SHANGHAI).timestamp()

SELL = {
    "client_order_id": "sg20261124a1b2c3",
    "symbol": "002116.SZ",
    "side": "sell",
    "quantity": 10000,
    "order_type": "limit",
    "limit_price": "10.02",
    "note": "seal 1503万 < 2000万",
}


class BridgeCase(unittest.TestCase):
    deadline = 0.5
    stuck_after = 10.0
    keepalive = 3.0
    quote_probe = 0.05
    account_type = "stock"
    cancel_wait = 2.0  # ends as soon as the order is final; only "pending" tests wait it out
    cancel_retry_after = 30.0
    check_login = True
    connect_on_start = True  # False: the test expects the first connect to be refused

    def setUp(self) -> None:
        COUNTER.reset()
        MARKET.reset()
        self.prepare_counter()
        self._tmp = tempfile.TemporaryDirectory()
        self.store_path = os.path.join(self._tmp.name, "orders.sqlite3")
        self.bridge: Optional[Bridge] = None
        self.start_bridge(wait=self.connect_on_start)

    def prepare_counter(self) -> None:
        """What the fake counter holds before the bridge starts (e.g. which accounts)."""

    def tearDown(self) -> None:
        if COUNTER.gate is not None:
            COUNTER.gate.set()
        if COUNTER.cancel_gate is not None:
            COUNTER.cancel_gate.set()
        for gate in COUNTER.hang.values():
            gate.set()
        self.stop_bridge()
        self._tmp.cleanup()

    def start_bridge(self, session_id: int = 100, wait: bool = True) -> Bridge:
        config = BridgeConfig(
            token=TOKEN, qmt_path=r"D:\QMT\userdata_mini", account=ACCOUNT, session_id=session_id,
            store_path=self.store_path, port=0, deadline=self.deadline, backoff=(0.05,),
            stuck_after=self.stuck_after, keepalive=self.keepalive, quote_probe=self.quote_probe,
            account_type=self.account_type, cancel_wait=self.cancel_wait,
            cancel_retry_after=self.cancel_retry_after, check_login=self.check_login,
        )
        self.bridge = Bridge(config, clock=lambda: NOW)
        self.bridge.start()
        if wait:
            self.assertTrue(self.bridge.session.wait_connected(2), "bridge did not connect to the fake")
            self.wait_quotes_ready()
        return self.bridge

    def wait_quotes_ready(self, ready: bool = True, seconds: float = 3.0) -> None:
        assert self.bridge is not None and self.bridge.quotes is not None
        deadline = time.time() + seconds
        while self.bridge.quotes.ready != ready:
            self.assertLess(time.time(), deadline, f"quote hub never became ready={ready}")
            time.sleep(0.01)

    def stop_bridge(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
            self.bridge = None

    def call(self, method: str, path: str, body: Any = None, token: Optional[str] = TOKEN,
             headers: Optional[dict[str, str]] = None) -> tuple[int, Any]:
        assert self.bridge is not None
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.bridge.port}{path}", data=data, method=method)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def sell(self, body: Optional[dict[str, Any]] = None, key: Optional[str] = None) -> tuple[int, Any]:
        order = dict(SELL if body is None else body)
        return self.call("POST", "/v1/orders", order,
                         headers={"Idempotency-Key": key or order["client_order_id"]})

    def wait_for(self, predicate: Any, seconds: float = 3.0) -> None:
        deadline = time.time() + seconds
        while not predicate():
            self.assertLess(time.time(), deadline, "condition not reached")
            time.sleep(0.02)

    def cancel(self, order_ref: str) -> tuple[int, Any]:
        return self.call("POST", f"/v1/orders/{order_ref}/cancel")

    def assert_error(self, reply: tuple[int, Any], status: int, code: str, retryable: bool = False) -> None:
        self.assertEqual(reply[0], status, reply[1])
        self.assertEqual(reply[1]["error"]["code"], code)
        self.assertEqual(reply[1]["error"]["retryable"], retryable)
