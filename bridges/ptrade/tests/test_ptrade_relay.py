"""The PTrade relay strategy against a fake PTrade runtime and a local SealGuard relay stub."""
from __future__ import annotations

import ast
import json
import os
import tempfile
import unittest
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from tests.ptrade_fakes import SCRIPT, FakePTrade, RelayStub, context

NOW = datetime(2026, 11, 24, 10, 1, 2, tzinfo=timezone(timedelta(hours=8))).timestamp()
SELL = {
    "client_order_id": "sg20261124a1b2c3", "symbol": "600000.SH", "side": "sell", "quantity": 1000,
    "order_type": "limit", "limit_price": "10.02", "note": "seal 1503万 < 2000万",
}


class RelayCase(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.stub = RelayStub()
        self.ptrade = FakePTrade(self._tmp.name)
        self.context = context()
        self.strategy = self.start_strategy()

    def tearDown(self) -> None:
        self.stub.close()
        self._tmp.cleanup()

    def start_strategy(self) -> Any:
        strategy = self.ptrade.load_strategy(self.stub.url)
        strategy.CLOCK = lambda: NOW
        strategy.initialize(self.context)
        return strategy

    def restart(self) -> None:
        """A PTrade restart: a fresh module and a fresh g; only the research folder survives."""
        self.ptrade.g = SimpleNamespace()
        self.ptrade.timers.clear()
        self.strategy = self.start_strategy()

    def tick(self) -> None:
        func, _ = self.ptrade.timers[-1]
        func(self.context)


class Polling(RelayCase):
    def test_initialize_polls_every_3_seconds(self) -> None:
        self.assertEqual([(f.__name__, s) for f, s in self.ptrade.timers], [("sealguard_poll", 3)])

    def test_the_cursor_advances_to_the_last_command_handled(self) -> None:
        self.stub.add("cmd-1", "snapshot", {})
        self.tick()
        self.tick()
        self.assertEqual(self.stub.afters, ["", "1"])

    def test_requests_carry_the_bearer_token(self) -> None:
        self.tick()
        self.assertEqual(self.stub.auth_failures, 0)


class Place(RelayCase):
    def test_a_place_command_sells_at_the_limit_price_and_reports_the_order(self) -> None:
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        self.assertEqual(self.ptrade.order_calls, [("600000.SS", -1000, 10.02)])
        order_id = next(iter(self.ptrade.orders))
        self.assertEqual(self.stub.results(), [{
            "command_id": "cmd-1", "kind": "place", "ok": True,
            "client_order_id": "sg20261124a1b2c3", "broker_order_id": order_id, "symbol": "600000.SH",
            "side": "sell", "quantity": 1000, "filled_quantity": 0, "avg_fill_price": None,
            "limit_price": "10.02", "status": "submitted", "broker_status": "2",
            "updated_at": "2026-11-24T10:01:02+08:00",
        }])
        self.assertEqual(self.stub.posts[0]["snapshot"]["orders"][0]["broker_order_id"], order_id)

    def test_a_command_delivered_twice_is_executed_once_and_its_result_sent_again(self) -> None:
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        self.assertIn("cmd-1", self.ptrade.g.sg_state["done"])  # mirrored into g for PTrade's pickling
        self.stub.commands.append(dict(self.stub.commands[0], cursor="2"))  # SealGuard re-delivers
        self.tick()
        self.assertEqual(len(self.ptrade.order_calls), 1)
        first, again = self.stub.results()
        self.assertEqual(first, again)

    def test_a_new_command_for_an_already_placed_client_order_id_does_not_place_again(self) -> None:
        self.stub.add("cmd-1", "place", SELL)
        self.stub.add("cmd-2", "place", SELL)
        self.tick()
        self.assertEqual(len(self.ptrade.order_calls), 1)
        self.assertEqual([r["broker_order_id"] for r in self.stub.results()],
                         [next(iter(self.ptrade.orders))] * 2)

    def test_a_refused_order_is_reported_as_broker_rejected(self) -> None:
        self.ptrade.refuse = True
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        result = self.stub.results()[0]
        self.assertEqual((result["ok"], result["status"], result["error"]["code"]),
                         (False, "rejected", "BROKER_REJECTED"))

    def test_a_buy_or_a_malformed_order_is_refused_without_calling_order(self) -> None:
        self.stub.add("cmd-1", "place", dict(SELL, side="buy"))
        self.stub.add("cmd-2", "place", dict(SELL, quantity="1000"))
        self.tick()
        self.assertEqual(self.ptrade.order_calls, [])
        self.assertEqual([r["error"]["code"] for r in self.stub.results()], ["INVALID_ARGUMENT"] * 2)


class Cancel(RelayCase):
    def test_cancel_calls_cancel_order_for_the_client_order_id(self) -> None:
        self.stub.add("cmd-1", "place", SELL)
        self.stub.add("cmd-2", "cancel", {"client_order_id": "sg20261124a1b2c3"})
        self.tick()
        order_id = next(iter(self.ptrade.orders))
        self.assertEqual(self.ptrade.cancel_calls, [order_id])
        result = self.stub.results()[1]
        self.assertEqual((result["command_id"], result["ok"], result["status"], result["broker_order_id"]),
                         ("cmd-2", True, "pending_cancel", order_id))

    def test_a_cancel_delivered_twice_cancels_once(self) -> None:
        self.stub.add("cmd-1", "place", SELL)
        self.stub.add("cmd-2", "cancel", {"client_order_id": "sg20261124a1b2c3"})
        self.tick()
        self.stub.commands.append(dict(self.stub.commands[1], cursor="3"))
        self.tick()
        self.assertEqual(len(self.ptrade.cancel_calls), 1)
        self.assertEqual([r["command_id"] for r in self.stub.results()], ["cmd-1", "cmd-2", "cmd-2"])

    def test_a_filled_order_is_not_cancellable(self) -> None:
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        next(iter(self.ptrade.orders.values())).status = "8"
        self.stub.add("cmd-2", "cancel", {"client_order_id": "sg20261124a1b2c3"})
        self.tick()
        self.assertEqual(self.ptrade.cancel_calls, [])
        self.assertEqual(self.stub.results()[-1]["error"]["code"], "NOT_CANCELLABLE")

    def test_cancelling_an_unknown_order_says_order_not_found(self) -> None:
        self.stub.add("cmd-1", "cancel", {"client_order_id": "sg-never-placed"})
        self.tick()
        self.assertEqual(self.stub.results()[0]["error"]["code"], "ORDER_NOT_FOUND")


class Delivery(RelayCase):
    def test_a_failed_post_is_retried_on_the_next_poll_without_placing_again(self) -> None:
        self.stub.fail_posts = 1
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        self.assertEqual(self.stub.results(), [])
        self.tick()
        self.assertEqual([r["command_id"] for r in self.stub.results()], ["cmd-1"])
        self.assertEqual(len(self.ptrade.order_calls), 1)
        self.tick()
        self.assertEqual(len(self.stub.results()), 1, "an acknowledged result is not sent again")

    def test_an_unreachable_relay_only_logs_and_keeps_the_timer_alive(self) -> None:
        self.stub.close()
        self.tick()
        self.assertTrue(any("cannot fetch commands" in line for line in self.ptrade.log.lines))


class Restart(RelayCase):
    def test_executed_commands_survive_a_restart_through_the_state_file(self) -> None:
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        self.restart()
        self.tick()  # cursor also survived: nothing new is asked for
        self.stub.commands.append(dict(self.stub.commands[0], cursor="2"))
        self.tick()
        self.assertEqual(len(self.ptrade.order_calls), 1)
        with open(os.path.join(self._tmp.name, "sealguard_relay_state.json"), encoding="utf-8") as handle:
            self.assertIn("cmd-1", json.load(handle)["done"])

    def test_a_crash_inside_order_is_never_retried_blindly(self) -> None:
        relay = self.strategy._relay()
        relay.state["started"]["cmd-1"] = SELL  # what a crash during order() leaves on disk
        relay.store.save(relay.state)
        self.restart()
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        self.assertEqual(self.ptrade.order_calls, [])
        result = self.stub.results()[0]
        self.assertEqual((result["ok"], result["status"], result["error"]["code"]),
                         (False, "unknown", "OUTCOME_UNKNOWN"))

    def test_after_a_crash_a_lone_matching_order_is_adopted(self) -> None:
        relay = self.strategy._relay()
        relay.state["started"]["cmd-1"] = SELL
        relay.store.save(relay.state)
        self.ptrade.order("600000.SS", -1000, 10.02)  # order() did reach PTrade before the crash
        self.restart()
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        self.assertEqual(len(self.ptrade.order_calls), 1)
        self.assertEqual(self.stub.results()[0]["ok"], True)


class Snapshot(RelayCase):
    def test_a_snapshot_reports_account_positions_and_orders_in_protocol_shapes(self) -> None:
        self.ptrade.positions = {"600000.SS": SimpleNamespace(
            sid="600000.SS", amount=3000, enable_amount="2000", cost_basis=9.5, last_sale_price=10.02)}
        self.stub.add("cmd-1", "place", SELL)
        self.stub.add("cmd-2", "snapshot", {})
        self.tick()
        snapshot = self.stub.posts[-1]["snapshot"]
        self.assertEqual(snapshot["account"], {
            "account_id": "****0365", "total_asset": "1023456.78",
            "cash_available": "500000.00", "market_value": "523456.78",
        })
        self.assertEqual(snapshot["positions"], [{
            "symbol": "600000.SH", "name": None, "quantity": 3000, "sellable_quantity": 2000,
            "avg_cost": "9.50", "last_price": "10.02", "market_value": "30060.00",
        }])
        self.assertEqual([(o["client_order_id"], o["status"]) for o in snapshot["orders"]],
                         [("sg20261124a1b2c3", "submitted")])
        self.assertEqual(snapshot["as_of"], "2026-11-24T10:01:02+08:00")


class Mapping(unittest.TestCase):
    def setUp(self) -> None:
        self.strategy = FakePTrade(tempfile.gettempdir()).load_strategy("http://127.0.0.1:9")

    def test_every_ptrade_status_maps_as_brokers_md_6_5_says(self) -> None:
        table = {
            "0": "pending_new", "1": "pending_new", "+": "pending_new",
            "2": "submitted", "-": "submitted", "V": "submitted",
            "7": "partially_filled", "3": "pending_cancel", "4": "pending_cancel",
            "8": "filled", "6": "cancelled", "5": "partially_cancelled", "9": "rejected", "X": "unknown",
        }
        self.assertEqual({code: self.strategy.status_of(code) for code in table}, table)

    def test_symbols_convert_between_the_protocol_and_ptrade(self) -> None:
        self.assertEqual([self.strategy.to_ptrade(s) for s in ("600000.SH", "000001.SZ")],
                         ["600000.SS", "000001.SZ"])
        self.assertEqual([self.strategy.from_ptrade(s) for s in ("600000.SS", "000001.XSHE")],
                         ["600000.SH", "000001.SZ"])

    def test_the_script_is_valid_python_3_5_for_older_ptrade_servers(self) -> None:
        with open(SCRIPT, encoding="utf-8") as handle:
            ast.parse(handle.read(), feature_version=(3, 5))


# The doc's own get_snapshot sample (Ptrade东莞.md ~L2930), as PTrade returns it.
HUNDSUN = {
    "offer_grp": {1: [44.47, 3300, 0, {}], 2: [44.48, 2800, 0], 3: [44.49, 3900, 0], 4: [44.5, 17300, 0],
                  5: [44.51, 1600, 0]},
    "open_px": 44.91, "pe_rate": 4294573.83, "pb_rate": 11.42, "entrust_diff": -100.0, "entrust_rate": -0.2092,
    "total_bidqty": 18900, "preclose_px": 45.2, "total_offer_turnover": 0, "issue_date": 0,
    "business_amount_out": 2600706, "px_change_rate": -1.62, "turnover_ratio": 0.0042, "total_bid_turnover": 0,
    "vol_ratio": 1.12, "hsTimeStamp": 20220622102358580, "amount": 0, "prev_settlement": 0.0,
    "circulation_amount": 1461560480, "low_px": 44.31, "down_px": 40.68,
    "bid_grp": {1: [44.45, 600, 0, {}], 2: [44.44, 600, 0], 3: [44.43, 8300, 0], 4: [44.42, 9200, 0],
                5: [44.41, 200, 0]},
    "business_balance": 274847503.0, "business_amount": 6161800, "business_amount_in": 3561094,
    "last_px": 44.47, "total_offerqty": 28900, "up_px": 49.72, "wavg_px": 44.6, "high_px": 45.05,
    "trade_status": "TRADE",
}


def sealed_at_limit() -> dict[str, Any]:
    """600570 sealed at up_px: every ask level empty, as get_snapshot shows a seal."""
    snap = dict(HUNDSUN, last_px=49.72, hsTimeStamp=20261124100103000,
                bid_grp={1: [49.72, 1250000, 812, {}], 2: [49.71, 3000, 2], 3: [0.0, 0, 0], 4: [0.0, 0, 0],
                         5: [0.0, 0, 0]},
                offer_grp={1: [0.0, 0, 0, {}], 2: [0.0, 0, 0], 3: [0.0, 0, 0], 4: [0.0, 0, 0], 5: [0.0, 0, 0]})
    return snap


class Quotes(RelayCase):
    def setUp(self) -> None:
        super().setUp()
        self.ptrade.snapshots["600570.SS"] = HUNDSUN

    def test_watched_codes_are_posted_from_get_snapshot_in_protocol_shapes_every_cycle(self) -> None:
        self.stub.watch = ["600570.SH"]
        self.tick()
        self.assertEqual(self.ptrade.snapshot_calls, [["600570.SS"]])
        self.assertEqual(self.stub.quote_posts, [{"quotes": [{
            "symbol": "600570.SH", "time": "2022-06-22T10:23:58+08:00", "status": "normal",
            "last": "44.47", "prev_close": "45.20", "limit_up": "49.72", "limit_down": "40.68",
            "bids": [["44.45", 600], ["44.44", 600], ["44.43", 8300], ["44.42", 9200], ["44.41", 200]],
            "asks": [["44.47", 3300], ["44.48", 2800], ["44.49", 3900], ["44.50", 17300], ["44.51", 1600]],
            "volume": 6161800, "amount": "274847503.00", "seq": 1,
        }]}])
        self.tick()
        self.assertEqual([p["quotes"][0]["seq"] for p in self.stub.quote_posts], [1, 2])

    def test_a_seal_shows_an_empty_ask_side_and_the_bid_queue_in_shares(self) -> None:
        self.stub.watch = ["600570.SH"]
        self.ptrade.snapshots["600570.SS"] = sealed_at_limit()
        self.tick()
        quote = self.stub.quote_posts[0]["quotes"][0]
        self.assertEqual((quote["last"], quote["limit_up"], quote["bids"][0], quote["asks"], quote["time"]),
                         ("49.72", "49.72", ["49.72", 1250000], [], "2026-11-24T10:01:03+08:00"))

    def test_trade_status_and_the_short_timestamp_form(self) -> None:
        self.stub.watch = ["600570.SH", "000001.SZ", "600000.SH"]
        self.ptrade.snapshots["000001.SZ"] = dict(HUNDSUN, trade_status="HALT", hsTimeStamp=20170711141612)
        self.ptrade.snapshots["600000.SS"] = dict(HUNDSUN, trade_status="DELISTED")
        self.tick()
        quotes = self.stub.quote_posts[0]["quotes"]
        self.assertEqual([(q["symbol"], q["status"]) for q in quotes],
                         [("600570.SH", "normal"), ("000001.SZ", "suspended"), ("600000.SH", "delisted")])
        self.assertEqual(quotes[1]["time"], "2017-07-11T14:16:12+08:00")

    def test_codes_without_a_snapshot_or_a_time_are_left_out_never_invented(self) -> None:
        self.stub.watch = ["600570.SH", "688001.SH", "000002.SZ"]
        self.ptrade.snapshots["000002.SZ"] = dict(HUNDSUN, hsTimeStamp=None)
        self.tick()
        self.assertEqual([q["symbol"] for q in self.stub.quote_posts[0]["quotes"]], ["600570.SH"])

    def test_an_undelivered_post_is_dropped_not_queued(self) -> None:
        self.stub.watch = ["600570.SH"]
        self.stub.fail_quote_posts = 1
        self.tick()
        self.tick()
        self.assertEqual([len(p["quotes"]) for p in self.stub.quote_posts], [1])
        self.assertTrue(any("quotes not delivered" in line for line in self.ptrade.log.lines))

    def test_a_v1_relay_without_watch_gets_no_quotes_and_commands_still_run(self) -> None:
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        self.assertEqual((self.ptrade.snapshot_calls, self.stub.quote_posts), ([], []))
        self.assertEqual(len(self.ptrade.order_calls), 1)

    def test_commands_arrive_in_the_v1_1_object_form_too(self) -> None:
        self.stub.watch = []
        self.stub.add("cmd-1", "place", SELL)
        self.tick()
        self.assertEqual(len(self.ptrade.order_calls), 1)
        self.assertEqual(self.ptrade.snapshot_calls, [])  # an empty watch list asks for nothing
