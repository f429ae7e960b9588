"""run_fake_bridge.py: the real bridge as a separate process on loopback, driven through its
control port, as SealGuard's TypeScript end-to-end tests will use it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unittest
import urllib.request
from typing import Any, Optional
from urllib.parse import urlsplit

from tests.sse_client import SseReader

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_fake_bridge.py")
TOKEN = "process-token-5e0c2a9b7d31"


class ProcessCase(unittest.TestCase):
    """Starts run_fake_bridge.py with `options`; the tests are in the subclasses."""
    options = ["--keepalive", "0.2"]

    def setUp(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, SCRIPT, "--token", TOKEN, "--exit-on-stdin-close",
             "--clock", "2026-11-24T10:01:02+08:00", *self.options],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.urls = json.loads(self.proc.stdout.readline())

    def tearDown(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # --exit-on-stdin-close: this alone stops it
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def control(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(self.urls["control"] + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as reply:
            return json.loads(reply.read())

    def bridge(self, method: str, path: str, body: Optional[Any] = None,
               headers: Optional[dict[str, str]] = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.urls["bridge"] + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Authorization", f"Bearer {TOKEN}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())



class FakeBridgeProcess(ProcessCase):
    def test_a_process_serves_the_protocol_and_its_quote_stream_driven_from_the_control_port(self) -> None:
        self.assertEqual(self.bridge("GET", "/v1/health")[1]["trading_day"], "2026-11-24")
        self.control("/fake/detail", {"symbol": "002116.SZ", "name": "中国海诚", "pre_close": 9.11,
                                      "up": 10.02, "down": 8.20})
        self.control("/fake/tick", {"symbol": "002116.SZ", "last": 10.02, "prev_close": 9.11,
                                    "bids": [[10.02, 2804600]], "asks": [], "shares": 15320000,
                                    "amount": 151668000.0})
        stream = SseReader(urlsplit(self.urls["bridge"]).port or 0, "/v1/quotes/stream?symbols=002116.SZ", TOKEN)
        try:
            first = stream.next_event(5)
            assert first is not None
            self.assertEqual((first["limit_up"], first["bids"], first["asks"], first["seq"]),
                             ("10.02", [["10.02", 2804600]], [], 1))
            self.control("/fake/tick", {"symbol": "002116.SZ", "last": 10.02, "prev_close": 9.11,
                                        "bids": [[10.02, 900000]], "asks": [], "shares": 15400000,
                                        "amount": 152469000.0, "timetag": "20261124 10:01:06"})
            change = stream.next_event(5)
            assert change is not None
            self.assertEqual((change["bids"], change["time"], change["seq"]),
                             ([["10.02", 900000]], "2026-11-24T10:01:06+08:00", 2))
        finally:
            stream.close()

        sell = {"client_order_id": "sg20261124e2e0001", "symbol": "002116.SZ", "side": "sell",
                "quantity": 1000, "order_type": "limit", "limit_price": "10.02"}
        self.assertEqual(self.bridge("POST", "/v1/orders", sell, {"Idempotency-Key": sell["client_order_id"],
                                                                   "Content-Type": "application/json"})[0], 201)
        orders = urllib.request.urlopen(self.urls["control"] + "/fake/orders", timeout=5)
        self.assertEqual(json.loads(orders.read())["orders"][0]["order_remark"], "sg20261124e2e0001")

    def test_cancels_are_driven_from_the_control_port(self) -> None:
        self.control("/fake/cancel", {"confirm_after": None})
        sell = {"client_order_id": "sg20261124e2e0002", "symbol": "002116.SZ", "side": "sell",
                "quantity": 1000, "order_type": "limit", "limit_price": "10.02"}
        self.bridge("POST", "/v1/orders", sell, {"Idempotency-Key": sell["client_order_id"],
                                                  "Content-Type": "application/json"})
        self.control("/fake/fill", {"order_id": 1001, "volume": 300, "price": 10.02})
        status, order = self.bridge("POST", "/v1/orders/sg20261124e2e0002/cancel", {},
                                    {"Content-Type": "application/json"})
        self.assertEqual((status, order["status"], order["cancel"]["state"]), (202, "pending_cancel", "pending"))
        self.control("/fake/confirm_cancel", {"order_id": 1001})
        order = self.bridge("GET", "/v1/orders/sg20261124e2e0002")[1]
        self.assertEqual((order["status"], order["filled_quantity"]), ("partially_cancelled", 300))
        orders = urllib.request.urlopen(self.urls["control"] + "/fake/orders", timeout=5)
        self.assertEqual(json.loads(orders.read())["cancel_calls"], [1001])


class CreditFakeBridgeProcess(ProcessCase):
    options = ["--account-type", "credit"]

    def test_a_credit_process_sells_on_the_credit_account_and_refuses_a_stock_login(self) -> None:
        self.assertEqual(self.bridge("GET", "/v1/health")[1]["account_type"], "credit")
        sell = {"client_order_id": "sg20261124e2e0003", "symbol": "002116.SZ", "side": "sell",
                "quantity": 1000, "order_type": "limit", "limit_price": "10.02"}
        headers = {"Idempotency-Key": sell["client_order_id"], "Content-Type": "application/json"}
        self.assertEqual(self.bridge("POST", "/v1/orders", sell, headers)[0], 201)
        orders = json.loads(urllib.request.urlopen(self.urls["control"] + "/fake/orders", timeout=5).read())
        self.assertEqual(orders["order_accounts"], [["1000000365", 3]])

        # miniQMT comes back with only the STOCK account logged in: the bridge refuses to trade.
        self.control("/fake/accounts", {"accounts": [{"account_id": "1000000365", "account_type": "STOCK"}]})
        self.control("/fake/disconnect", {})
        deadline = time.time() + 5
        while "warnings" not in self.bridge("GET", "/v1/health")[1]:
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        again = {**sell, "client_order_id": "sg20261124e2e0004"}
        status, reply = self.bridge("POST", "/v1/orders", again, {**headers, "Idempotency-Key": "sg20261124e2e0004"})
        self.assertEqual((status, reply["error"]["code"]), (503, "BRIDGE_NOT_READY"))
        self.assertIn("logged in as STOCK", reply["error"]["message"])
