"""Placing, replaying, reconciling and cancelling sells without ever placing one twice."""
from __future__ import annotations

import threading
import time

from tests.qmt_harness import ACCOUNT, SELL, BridgeCase, COUNTER
from qmt_bridge.wire import parse_sell_order


class PlaceOnce(BridgeCase):
    def test_a_sell_is_sent_as_a_fix_price_stock_sell_with_the_id_as_remark(self) -> None:
        self.assertEqual(self.sell(), (201, {
            "client_order_id": "sg20261124a1b2c3", "broker_order_id": "1001",
            "status": "submitted", "replayed": False,
        }))
        self.assertEqual(COUNTER.order_calls, [
            (ACCOUNT, "002116.SZ", 24, 10000, 11, 10.02, "sealguard", "sg20261124a1b2c3"),
        ])

    def test_the_same_id_and_body_again_replays_the_stored_result_without_a_second_order(self) -> None:
        self.sell()
        self.assertEqual(self.sell(), (200, {
            "client_order_id": "sg20261124a1b2c3", "broker_order_id": "1001",
            "status": "submitted", "replayed": True,
        }))
        self.assertEqual(len(COUNTER.order_calls), 1)

    def test_the_same_id_with_a_different_body_is_an_idempotency_conflict(self) -> None:
        self.sell()
        self.assert_error(self.sell({**SELL, "quantity": 5000}), 409, "IDEMPOTENCY_CONFLICT")
        self.assertEqual(len(COUNTER.order_calls), 1)

    def test_a_different_note_alone_is_still_the_same_order(self) -> None:
        self.sell()
        self.assertEqual(self.sell({**SELL, "note": "retry"})[0], 200)
        self.assertEqual(len(COUNTER.order_calls), 1)

    def test_long_ids_are_hashed_into_a_24_character_remark(self) -> None:
        long_id = "sg20261124-0123456789abcdefXYZ"
        self.assertEqual(self.sell({**SELL, "client_order_id": long_id})[0], 201)
        remark = COUNTER.order_calls[0][7]
        self.assertEqual((len(remark), remark[0]), (24, "h"))
        self.assertEqual(self.call("GET", f"/v1/orders/{long_id}")[1]["client_order_id"], long_id)

    def test_a_refusal_is_422_broker_rejected_and_replayed_as_such(self) -> None:
        COUNTER.refuse = True
        self.assert_error(self.sell(), 422, "BROKER_REJECTED")
        COUNTER.refuse = False
        self.assert_error(self.sell(), 422, "BROKER_REJECTED")
        self.assertEqual(len(COUNTER.order_calls), 1)


class Validation(BridgeCase):
    def test_the_idempotency_key_must_equal_the_client_order_id(self) -> None:
        reply = self.sell(key="sg-something-else")
        self.assert_error(reply, 400, "INVALID_ARGUMENT")
        self.assertIn("Idempotency-Key", reply[1]["error"]["message"])

    def test_bad_fields_are_named_and_nothing_is_placed(self) -> None:
        cases = {
            "quantity": {**SELL, "quantity": 0},
            "limit_price": {**SELL, "limit_price": 10.02},
            "symbol": {**SELL, "symbol": "002116"},
            "side": {**SELL, "side": "buy"},
            "client_order_id": {**SELL, "client_order_id": "short"},
        }
        for field, body in cases.items():
            reply = self.sell(body)
            self.assert_error(reply, 400, "INVALID_ARGUMENT")
            self.assertIn(field, reply[1]["error"]["message"])
        self.assert_error(self.sell({**SELL, "limit_price": "10.025"}), 400, "INVALID_ARGUMENT")
        self.assertEqual(COUNTER.order_calls, [])


class InFlight(BridgeCase):
    deadline = 2.0

    def test_a_second_post_while_the_first_is_with_qmt_gets_409_order_in_flight(self) -> None:
        COUNTER.gate = threading.Event()
        first: list[tuple[int, object]] = []
        worker = threading.Thread(target=lambda: first.append(self.sell()))
        worker.start()
        while not COUNTER.order_calls:
            time.sleep(0.01)
        self.assert_error(self.sell(), 409, "ORDER_IN_FLIGHT")
        COUNTER.gate.set()
        worker.join(5)
        self.assertEqual(first[0][0], 201)
        self.assertEqual(len(COUNTER.order_calls), 1)


class HungBroker(BridgeCase):
    deadline = 0.2

    def test_no_answer_in_time_is_504_and_get_finds_the_order_once_it_appears(self) -> None:
        COUNTER.gate = threading.Event()
        self.assert_error(self.sell(), 504, "OUTCOME_UNKNOWN")
        status, seen = self.call("GET", "/v1/orders/sg20261124a1b2c3")
        self.assertEqual((status, seen["status"], seen["broker_order_id"]), (200, "pending_new", None))
        self.assert_error(self.sell(), 409, "ORDER_IN_FLIGHT")

        COUNTER.gate.set()
        deadline = time.time() + 2
        while self.call("GET", "/v1/orders/sg20261124a1b2c3")[1]["broker_order_id"] is None:
            self.assertLess(time.time(), deadline)
            time.sleep(0.02)
        self.assertEqual(self.call("GET", "/v1/orders/sg20261124a1b2c3"), (200, {
            "client_order_id": "sg20261124a1b2c3", "broker_order_id": "1001", "symbol": "002116.SZ",
            "side": "sell", "quantity": 10000, "filled_quantity": 0, "avg_fill_price": None,
            "limit_price": "10.02", "status": "submitted", "broker_status": "50",
            "updated_at": "2026-11-24T10:01:02+08:00",
        }))
        self.assertEqual(self.sell()[0], 200)
        self.assertEqual(len(COUNTER.order_calls), 1)


class Restart(BridgeCase):
    def _crash_after_persisting(self, client_order_id: str) -> None:
        """What a crash between the fsync and QMT's answer leaves behind."""
        assert self.bridge is not None
        sell = parse_sell_order({**SELL, "client_order_id": client_order_id}, client_order_id)
        self.bridge.store.insert_pending(ACCOUNT, "2026-11-24", client_order_id, sell.fingerprint(),
                                         client_order_id, 0.0)
        self.stop_bridge()

    def test_an_id_qmt_already_has_is_adopted_not_placed_again(self) -> None:
        self._crash_after_persisting("sg20261124a1b2c3")
        COUNTER.add_order("002116.SZ", 10000, 10.02, "sg20261124a1b2c3")
        self.start_bridge()
        self.assertEqual(self.sell(), (200, {
            "client_order_id": "sg20261124a1b2c3", "broker_order_id": "1001",
            "status": "submitted", "replayed": True,
        }))
        self.assertEqual(COUNTER.order_calls, [])

    def test_the_post_itself_reconciles_when_start_up_could_not_list_orders(self) -> None:
        self._crash_after_persisting("sg20261124a1b2c3")
        asset, COUNTER.asset = COUNTER.asset, None  # QMT cannot answer yet: start-up reconcile gives up
        self.start_bridge()
        time.sleep(0.1)
        COUNTER.asset = asset
        COUNTER.add_order("002116.SZ", 10000, 10.02, "sg20261124a1b2c3")
        self.assertEqual(self.sell()[1]["broker_order_id"], "1001")
        self.assertEqual(COUNTER.order_calls, [])

    def test_while_qmt_cannot_list_orders_a_pending_id_is_not_placed(self) -> None:
        self._crash_after_persisting("sg20261124a1b2c3")
        COUNTER.asset = None
        self.start_bridge()
        self.assert_error(self.sell(), 503, "BRIDGE_NOT_READY", retryable=True)
        self.assertEqual(COUNTER.order_calls, [])

    def test_an_id_qmt_never_saw_is_placed_exactly_once_after_reconciling(self) -> None:
        self._crash_after_persisting("sg20261124a1b2c3")
        self.start_bridge()
        self.assertEqual(self.sell()[0], 201)
        self.assertEqual(self.sell()[0], 200)
        self.assertEqual(len(COUNTER.order_calls), 1)

    def test_a_placed_order_survives_a_restart_as_a_replay(self) -> None:
        self.sell()
        self.stop_bridge()
        self.start_bridge(session_id=200)
        self.assertEqual(self.sell()[1]["replayed"], True)
        self.assertEqual(len(COUNTER.order_calls), 1)


class QueryAndCancel(BridgeCase):
    def test_get_by_broker_id_and_list_today_include_fills(self) -> None:
        self.sell()
        COUNTER.orders[1001].order_status = 55
        COUNTER.orders[1001].traded_volume = 4000
        COUNTER.orders[1001].traded_price = 10.02
        by_broker = self.call("GET", "/v1/orders/1001")
        self.assertEqual((by_broker[1]["client_order_id"], by_broker[1]["status"],
                          by_broker[1]["filled_quantity"], by_broker[1]["avg_fill_price"]),
                         ("sg20261124a1b2c3", "partially_filled", 4000, "10.02"))
        status, listing = self.call("GET", "/v1/orders")
        self.assertEqual(status, 200)
        self.assertEqual([o["client_order_id"] for o in listing["orders"]], ["sg20261124a1b2c3"])

    def test_an_unknown_id_is_404_order_not_found(self) -> None:
        self.assert_error(self.call("GET", "/v1/orders/sg-never-placed"), 404, "ORDER_NOT_FOUND")

    def test_a_late_rejection_shows_as_rejected_with_the_brokers_reason(self) -> None:
        self.sell()
        COUNTER.reject_later(1001, -61, "当前时间不允许此类证券交易")
        order = self.call("GET", "/v1/orders/sg20261124a1b2c3")[1]
        self.assertEqual((order["status"], order["message"]), ("rejected", "-61 当前时间不允许此类证券交易"))

    def test_cancelling_an_unknown_order_is_404(self) -> None:
        self.assert_error(self.call("POST", "/v1/orders/9999/cancel"), 404, "ORDER_NOT_FOUND")
