#!/usr/bin/env python3
"""Runs the real PTrade strategy (bridges/ptrade/sealguard_relay.py) inside the fake PTrade runtime
of bridges/ptrade/tests/ptrade_fakes.py (get_snapshot as the PTrade API doc describes it) against a
SealGuard relay, for the TypeScript tests of the `ptrade` quote source:

    python3 test/market/relay_strategy.py <relay base url>

It reads one JSON command per line on stdin and answers one JSON line on stdout per command:

    {"op": "snapshot", "code": "600570.SS", "snapshot": {...get_snapshot entry...}}
    {"op": "position", "code": "600570.SS", "amount": 10000, "enable_amount": 10000,
     "cost_basis": 45.0, "last_sale_price": 49.72}      a holding (get_positions)
    {"op": "tick"}      one run_interval cycle (poll commands, post results, post watched quotes)

Every answer is {"ok": true, "log": [<the strategy's new log lines>], "snapshot_calls": [...],
"order_calls": [[security, amount, limit_price], ...]}.
The bearer token is ptrade_fakes.TOKEN. It exits when stdin closes.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bridges", "ptrade"))

from types import SimpleNamespace  # noqa: E402

from tests.ptrade_fakes import FakePTrade, context  # noqa: E402


def main(url: str) -> int:
    research = tempfile.mkdtemp(prefix="sg-ptrade-research-")
    ptrade = FakePTrade(research)
    strategy = ptrade.load_strategy(url)
    ctx = context()
    strategy.initialize(ctx)
    seen = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["op"] == "snapshot":
            # JSON has string keys; PTrade's bid_grp/offer_grp are keyed by level numbers.
            snap = dict(cmd["snapshot"])
            for side in ("bid_grp", "offer_grp"):
                if isinstance(snap.get(side), dict):
                    snap[side] = {int(k): v for k, v in snap[side].items()}
            ptrade.snapshots[cmd["code"]] = snap
        elif cmd["op"] == "position":
            ptrade.positions[cmd["code"]] = SimpleNamespace(
                sid=cmd["code"], amount=cmd["amount"], enable_amount=cmd["enable_amount"],
                cost_basis=cmd.get("cost_basis"), last_sale_price=cmd.get("last_sale_price"))
        elif cmd["op"] == "tick":
            func, _ = ptrade.timers[-1]
            func(ctx)
        else:
            raise ValueError("unknown op %r" % cmd["op"])
        lines = ptrade.log.lines[seen:]
        seen = len(ptrade.log.lines)
        print(json.dumps({"ok": True, "log": lines, "snapshot_calls": ptrade.snapshot_calls,
                          "order_calls": ptrade.order_calls}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
