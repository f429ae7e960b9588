"""GET /v1/quotes/stream against the fake xtdata (fake_xtquant/xtquant/xtdata.py, fake_market.py),
which follows the real xtdata's shapes and behaviour; see the fake's docstring for its sources."""
from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from tests.qmt_harness import TOKEN, BridgeCase, MARKET
from tests.sse_client import SseReader
from xtquant.fake_market import detail, tick

HAICHENG = "002116.SZ"
MOUTAI = "600519.SH"
ETF = "510300.SH"


def sealed(bid1: int = 2804600, timetag: str = "20261124 10:01:03", **kw: Any) -> dict[str, Any]:
    """002116 sealed at 10.02: bid1 at the limit, no asks (a real seal's book)."""
    return tick(10.02, 9.11, [(10.02, bid1), (10.01, 1200)], [], shares=15320000, amount=151668000.0,
                timetag=timetag, high=10.02, low=9.30, **kw)


def moutai(**kw: Any) -> dict[str, Any]:
    return tick(1700.5, 1685.0, [(1700.5, 300), (1700.0, 1200)], [(1701.0, 500)], shares=2500000,
                amount=4251250000.0, high=1710.0, low=1690.0, **kw)


def vwap_within_limits(event: dict[str, Any]) -> bool:
    """The check documented for the TypeScript side: amount / volume is a price of the day, so
    it must lie inside [limit_down, limit_up]; lots taken for shares put it 100x off."""
    if not event["volume"] or event["limit_up"] is None:
        return True
    vwap = Decimal(event["amount"]) / event["volume"]
    return Decimal(event["limit_down"]) <= vwap <= Decimal(event["limit_up"])


class StreamCase(BridgeCase):
    keepalive = 0.1

    def setUp(self) -> None:
        super().setUp()
        MARKET.details[HAICHENG] = detail("中国海诚", 9.11, 10.02, 8.20)
        MARKET.details[MOUTAI] = detail("贵州茅台", 1685.0, 1853.5, 1516.5)
        MARKET.details[ETF] = detail("沪深300ETF", 3.9, 4.29, 3.51, 0.001)
        MARKET.set(HAICHENG, sealed(), push=False)
        MARKET.set(MOUTAI, moutai(), push=False)
        self.readers: list[SseReader] = []

    def tearDown(self) -> None:
        for reader in self.readers:
            reader.close()
        super().tearDown()

    def open(self, symbols: str, token: str = TOKEN, rcvbuf: Any = None) -> SseReader:
        assert self.bridge is not None
        reader = SseReader(self.bridge.port, f"/v1/quotes/stream?symbols={symbols}", token, rcvbuf)
        self.readers.append(reader)
        return reader


class FirstFrameThenChanges(StreamCase):
    def test_the_first_frame_is_the_current_tick_of_each_requested_symbol_in_shares_with_limits(self) -> None:
        stream = self.open(f"{HAICHENG},{MOUTAI}")
        self.assertEqual((stream.status, stream.headers["content-type"]),
                         (200, "text/event-stream; charset=utf-8"))
        first = stream.events(2)
        self.assertEqual(first[0], {
            "symbol": HAICHENG, "time": "2026-11-24T10:01:03+08:00", "status": "normal",
            "last": "10.02", "prev_close": "9.11", "limit_up": "10.02", "limit_down": "8.20",
            "bids": [["10.02", 2804600], ["10.01", 1200]], "asks": [], "volume": 15320000,
            "amount": "151668000.00", "seq": 1,
        })
        self.assertEqual((first[1]["symbol"], first[1]["seq"], first[1]["limit_up"], first[1]["asks"]),
                         (MOUTAI, 2, "1853.50", [["1701.00", 500]]))
        self.assertTrue(all(vwap_within_limits(e) for e in first))
        # subscribe_whole_quote, not subscribe_quote (meant for <= 50 codes)
        self.assertEqual(MARKET.subscribe_calls, [[HAICHENG, MOUTAI]])

    def test_then_only_changed_symbols_follow_with_increasing_seq(self) -> None:
        stream = self.open(f"{HAICHENG},{MOUTAI}")
        stream.events(2)
        MARKET.set(HAICHENG, sealed(bid1=2000000, timetag="20261124 10:01:06"))
        changed = stream.events(1)
        MARKET.set(MOUTAI, moutai())  # re-sent unchanged: nothing to tell the client
        MARKET.set(HAICHENG, sealed(bid1=1500000, timetag="20261124 10:01:09"))
        changed += stream.events(1)
        self.assertEqual([(e["symbol"], e["seq"], e["bids"][0]) for e in changed],
                         [(HAICHENG, 3, ["10.02", 2000000]), (HAICHENG, 4, ["10.02", 1500000])])
        self.assertEqual(stream.read_for(0.3), [])

    def test_a_second_stream_gets_its_first_frame_from_the_hub_and_the_subscription_grows(self) -> None:
        self.open(HAICHENG).events(1)
        MARKET.set(ETF, tick(3.915, 3.9, [(3.915, 120000)], [(3.916, 80000)], shares=52000000,
                             amount=203580000.0, units="shares"), push=False)
        second = self.open(f"{ETF},{HAICHENG}")
        self.assertEqual([e["symbol"] for e in second.events(2)], [ETF, HAICHENG])
        self.assertEqual(MARKET.subscribe_calls[-1], sorted([ETF, HAICHENG]))
        self.assertEqual(MARKET.unsubscribe_calls, [1])  # the old, smaller subscription

    def test_first_frames_for_many_codes_use_get_full_tick_in_chunks(self) -> None:
        codes = [f"{n:06d}.SZ" for n in range(1, 251)]
        for code in codes:
            MARKET.details[code] = detail("x", 10.0, 11.0, 9.0)
            MARKET.set(code, tick(10.5, 10.0, [(10.5, 100)], [(10.51, 100)], shares=100000, amount=1050000.0),
                       push=False)
        MARKET.full_tick_limit = 150  # a whole list would time out, as the real one does
        stream = self.open(",".join(codes))
        self.assertEqual([e["symbol"] for e in stream.events(250)], codes)
        self.assertTrue(all(len(call) <= 100 for call in MARKET.full_tick_calls), MARKET.full_tick_calls)


class Fields(StreamCase):
    def test_time_is_the_ticks_timetag_not_the_bridge_clock_or_host_zone(self) -> None:
        data = sealed(timetag="20261124 10:59:57")
        data["time"] = 0  # even a broken epoch field must not win over timetag
        MARKET.set(HAICHENG, data, push=False)
        self.assertEqual(self.open(HAICHENG).events(1)[0]["time"], "2026-11-24T10:59:57+08:00")

    def test_status_comes_from_open_int(self) -> None:
        MARKET.set(HAICHENG, sealed(open_int=17), push=False)  # 17 临时停牌
        stream = self.open(HAICHENG)
        self.assertEqual(stream.events(1)[0]["status"], "suspended")
        MARKET.set(HAICHENG, sealed(open_int=13))  # 13 连续交易
        self.assertEqual(stream.events(1)[0]["status"], "normal")

    def test_yesterdays_instrument_detail_gives_null_limits_and_a_warning(self) -> None:
        MARKET.details[HAICHENG] = detail("中国海诚", 8.28, 9.11, 7.45)  # PreClose is not today's lastClose
        event = self.open(HAICHENG).events(1)[0]
        self.assertEqual((event["limit_up"], event["limit_down"]), (None, None))
        warnings = self.call("GET", "/v1/health")[1]["warnings"]
        self.assertTrue(any(HAICHENG in w and "PreClose" in w for w in warnings), warnings)

    def test_when_instrument_details_fail_quotes_still_flow_with_null_limits(self) -> None:
        MARKET.detail_fails = True
        stream = self.open(HAICHENG)
        event = stream.events(1)[0]
        self.assertEqual((event["last"], event["limit_up"], event["limit_down"]), ("10.02", None, None))
        warnings = self.call("GET", "/v1/health")[1]["warnings"]
        self.assertTrue(any("get_instrument_detail failed" in w for w in warnings), warnings)

    def test_bad_symbols_are_400_naming_the_bad_one_and_a_wrong_token_401(self) -> None:
        bad = self.open("002116.SZ,2116")
        self.assertEqual((bad.status, bad.error_body()["error"]["code"]), (400, "INVALID_ARGUMENT"))
        self.assertIn("'2116'", self.open("002116.SZ,2116").error_body()["error"]["message"])
        self.assertEqual(self.open("").status, 400)
        self.assertEqual(self.open(HAICHENG, token="wrong").status, 401)
        self.assertEqual(MARKET.subscribe_calls, [])


class Units(StreamCase):
    def test_stock_volumes_in_lots_become_shares(self) -> None:
        event = self.open(HAICHENG).events(1)[0]
        self.assertEqual((event["bids"][0][1], event["volume"]), (2804600, 15320000))
        self.assertNotIn("warnings", self.call("GET", "/v1/health")[1])

    def test_an_etf_tick_with_volume_equal_to_pvolume_is_taken_as_shares(self) -> None:
        MARKET.set(ETF, tick(3.915, 3.9, [(3.915, 120000)], [(3.916, 80000)], shares=52000000,
                             amount=203580000.0, units="shares"), push=False)
        event = self.open(ETF).events(1)[0]
        self.assertEqual((event["last"], event["bids"], event["volume"]), ("3.915", [["3.915", 120000]], 52000000))
        self.assertTrue(vwap_within_limits(event))

    def test_a_feed_sending_shares_where_lots_are_expected_is_detected_and_not_scaled(self) -> None:
        MARKET.set(HAICHENG, sealed(units="shares"), push=False)
        event = self.open(HAICHENG).events(1)[0]
        self.assertEqual((event["bids"][0][1], event["volume"]), (2804600, 15320000))
        warnings = self.call("GET", "/v1/health")[1]["warnings"]
        self.assertTrue(any(HAICHENG in w and "units of 1 share" in w for w in warnings), warnings)
        self.assertTrue(vwap_within_limits(event))
        self.assertFalse(vwap_within_limits({**event, "volume": event["volume"] * 100}))  # what a 100x slip looks like

    def test_without_pvolume_the_turnover_tells_the_unit(self) -> None:
        MARKET.set(HAICHENG, sealed(units="shares_no_pvolume"), push=False)
        event = self.open(HAICHENG).events(1)[0]
        self.assertEqual((event["bids"][0][1], event["volume"]), (2804600, 15320000))


class Liveness(StreamCase):
    def test_a_quiet_market_gets_keepalive_comments(self) -> None:
        stream = self.open(HAICHENG)
        stream.events(1)
        self.assertEqual(stream.read_for(0.8), [])
        self.assertGreaterEqual(stream.comments.count("keepalive"), 3)

    def test_a_disconnect_ends_streams_503_until_reconnected_then_a_fresh_first_frame(self) -> None:
        stream = self.open(HAICHENG)
        stream.events(1)
        MARKET.drop()
        self.assertIsNone(stream.next_event(3))
        self.assertIn("end 行情服务连接断开", stream.comments)
        self.wait_quotes_ready(False)
        health = self.call("GET", "/v1/health")[1]
        self.assertEqual(health["quotes"]["connected"], False)
        self.assertTrue(any("行情服务连接断开" in w for w in health["warnings"]))
        refused = self.open(HAICHENG)
        self.assertEqual((refused.status, refused.error_body()["error"]["code"]), (503, "BRIDGE_NOT_READY"))

        MARKET.restore()
        self.wait_quotes_ready(True)
        self.assertGreaterEqual(MARKET.reconnects, 1)
        again = self.open(HAICHENG)
        self.assertEqual(again.events(1)[0]["seq"], 1)
        MARKET.set(HAICHENG, sealed(bid1=900000, timetag="20261124 10:05:00"))
        self.assertEqual(again.events(1)[0]["bids"][0], ["10.02", 900000])
        self.assertEqual(MARKET.subscribe_calls[-1], [HAICHENG])  # subscribed again on the new client


class SlowClient(StreamCase):
    PUSHES = 4000

    def push_burst(self) -> None:
        """PUSHES changes of 002116's seal, then one of 600519, all while nobody takes."""
        for n in range(self.PUSHES):
            MARKET.set(HAICHENG, sealed(bid1=3000000 - 100 * n))
        MARKET.set(MOUTAI, moutai(timetag="20261124 10:02:00"))
        self.assertTrue(MARKET.settle(timeout=60), "the fake's push thread did not drain")

    def test_a_client_that_takes_nothing_holds_one_event_per_symbol_the_latest(self) -> None:
        # The mailbox itself, without a socket: what a client too slow to read is left with.
        assert self.bridge is not None and self.bridge.quotes is not None
        stream = self.bridge.quotes.open([HAICHENG, MOUTAI])
        try:
            self.assertEqual([e["symbol"] for e in stream.mailbox.take(1.0) or []], [HAICHENG, MOUTAI])
            self.push_burst()
            box = stream.mailbox
            self.assertEqual((box.high_water, box.replaced), (2, self.PUSHES - 1))
            waiting = box.take(1.0) or []
            self.assertEqual([(e["symbol"], e["bids"][0]) for e in waiting], [
                (HAICHENG, ["10.02", 3000000 - 100 * (self.PUSHES - 1)]),
                (MOUTAI, ["1700.50", 300]),
            ])
            self.assertEqual(box.take(0.05), [])  # nothing older left behind
        finally:
            self.bridge.quotes.close(stream)

    def test_a_slow_client_gets_the_latest_per_symbol_never_a_backlog(self) -> None:
        # The client reads nothing while the burst comes, so the bridge's writes back up. (An
        # earlier version shrank SO_RCVBUF to 2 KB instead: below one loopback MSS, Linux then
        # waits on backed-off zero-window probes and the stream stalled for seconds, 3 runs in
        # 40; a test of the kernel's timers, not of the bridge.)
        stream = self.open(f"{HAICHENG},{MOUTAI}")
        stream.events(2)
        self.push_burst()
        assert self.bridge is not None and self.bridge.quotes is not None
        (box,) = [s.mailbox for s in self.bridge.quotes._streams]
        self.assertLessEqual(box.high_water, 2)  # one waiting event per symbol at most

        last = ["10.02", 3000000 - 100 * (self.PUSHES - 1)]
        seen: list[dict[str, Any]] = []
        while not (any(e["symbol"] == MOUTAI for e in seen)
                   and any(e["symbol"] == HAICHENG and e["bids"][0] == last for e in seen)):
            more = stream.events(1, timeout=10)  # a keepalive-only 10 s means the stream is stuck
            self.assertTrue(more, "the stream ended before the latest values came")
            seen.extend(more)
        self.assertEqual(stream.read_for(0.3), [])  # and nothing after them
        haicheng = [e for e in seen if e["symbol"] == HAICHENG]
        self.assertEqual(haicheng[-1]["bids"][0], last)
        # Every push was either written or replaced by a newer one before it was: none lost.
        self.assertEqual(len(haicheng) + box.replaced, self.PUSHES)
        self.assertEqual([e["seq"] for e in seen], list(range(3, 3 + len(seen))))
