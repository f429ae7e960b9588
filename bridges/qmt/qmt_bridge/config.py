"""Command line and environment; the token may come from the environment so it stays out of
shell history and process listings."""
from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence

from .server import BridgeConfig


def parse_config(argv: Optional[Sequence[str]] = None, env: Optional[dict[str, str]] = None) -> BridgeConfig:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(
        prog="python -m qmt_bridge", description="SealGuard bridge v1 for QMT/miniQMT (xtquant)"
    )
    parser.add_argument("--host", default=env.get("SEALGUARD_BRIDGE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("SEALGUARD_BRIDGE_PORT", "8765")))
    parser.add_argument("--token", default=env.get("SEALGUARD_BRIDGE_TOKEN", ""),
                        help="bearer token; prefer the SEALGUARD_BRIDGE_TOKEN environment variable")
    parser.add_argument("--qmt-path", default=env.get("QMT_PATH", ""),
                        help=r"miniQMT userdata_mini folder, e.g. D:\国金证券QMT交易端\userdata_mini")
    parser.add_argument("--account", default=env.get("QMT_ACCOUNT", ""), help="account id (资金账号)")
    parser.add_argument("--account-type", default=env.get("QMT_ACCOUNT_TYPE", "stock").lower(),
                        help="stock (default) or credit: a 融资融券 account, whose sells go out as "
                             "CREDIT_SELL 担保品卖出; must match what miniQMT has logged in")
    parser.add_argument("--session-id", type=int, default=int(env.get("QMT_SESSION_ID", "561203")),
                        help="xtquant session id, unique per process; reconnects use the next ids")
    parser.add_argument("--store", default=env.get("SEALGUARD_BRIDGE_STORE", "sealguard-qmt-orders.sqlite3"),
                        help="idempotency database (sqlite3)")
    parser.add_argument("--deadline", type=float, default=5.0,
                        help="seconds to wait for QMT before answering 504 OUTCOME_UNKNOWN")
    parser.add_argument("--no-quotes", action="store_true",
                        help="do not offer GET /v1/quotes/stream (no xtdata subscription)")
    parser.add_argument("--keepalive", type=float, default=3.0,
                        help="seconds without a quote event before a keepalive comment (at most 5)")
    parser.add_argument("--stuck-after", type=float, default=10.0,
                        help="seconds after which a call into xtquant counts as hung")
    parser.add_argument("--no-login-check", action="store_true",
                        help="do not compare the account and its type with query_account_infos() "
                             "(only if that check misjudges your xtquant build)")
    parser.add_argument("--cancel-wait", type=float, default=2.0,
                        help="seconds a cancel waits for the counter's answer before replying 202")
    parser.add_argument("--cancel-retry-after", type=float, default=30.0,
                        help="seconds before a cancel that had no visible effect may be sent again")
    args = parser.parse_args(argv)
    missing = [name for name, value in
               (("--token", args.token), ("--qmt-path", args.qmt_path), ("--account", args.account))
               if not value]
    if missing:
        parser.error("missing " + ", ".join(missing))
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    if args.deadline <= 0:
        parser.error("--deadline must be positive")
    if not 0 < args.keepalive <= 5:
        parser.error("--keepalive must be more than 0 and at most 5 seconds (BRIDGE-PROTOCOL.md)")
    if args.stuck_after <= 0:
        parser.error("--stuck-after must be positive")
    if args.account_type not in ("stock", "credit"):
        parser.error("--account-type must be stock or credit")
    if args.cancel_wait < 0:
        parser.error("--cancel-wait must be 0 or more seconds")
    if args.cancel_retry_after <= 0:
        parser.error("--cancel-retry-after must be positive")
    return BridgeConfig(
        token=args.token, qmt_path=args.qmt_path, account=args.account, session_id=args.session_id,
        store_path=args.store, host=args.host, port=args.port, deadline=args.deadline,
        quotes=not args.no_quotes, keepalive=args.keepalive, stuck_after=args.stuck_after,
        account_type=args.account_type, cancel_wait=args.cancel_wait,
        cancel_retry_after=args.cancel_retry_after, check_login=not args.no_login_check,
    )
