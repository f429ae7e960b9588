"""Durable idempotency records: the client order id is on disk before QMT hears of the order.

sqlite3 with synchronous=FULL fsyncs every commit, so a crash right after insert_pending()
still leaves the id behind for reconciliation on the next start.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Optional

# pending:    persisted, QMT has not (yet) answered; reconcile by order_remark before placing.
# placed:     QMT gave an order id; replays return the stored response.
# rejected:   QMT refused it for good; replays return the stored error.
# not_placed: QMT never took it (disconnected); a retry with the same id may place it.
# unknown:    order_stock answered without an order id but the request may have left (-2, an
#             exception): only adopted from QMT's orders by remark, never sent again.
STATES = ("pending", "placed", "rejected", "not_placed", "unknown")


@dataclass(frozen=True)
class Record:
    account: str
    trading_day: str
    client_order_id: str
    fingerprint: str
    remark: str
    state: str
    broker_order_id: Optional[str]
    http_status: Optional[int]
    response: Optional[dict[str, Any]]
    created_at: float
    updated_at: float


_COLUMNS = (
    "account, trading_day, client_order_id, fingerprint, remark, state, broker_order_id, "
    "http_status, response, created_at, updated_at"
)


class IdempotencyStore:
    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS orders ("
            " account TEXT NOT NULL, trading_day TEXT NOT NULL, client_order_id TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL, remark TEXT NOT NULL, state TEXT NOT NULL,"
            " broker_order_id TEXT, http_status INTEGER, response TEXT,"
            " created_at REAL NOT NULL, updated_at REAL NOT NULL,"
            " PRIMARY KEY (account, trading_day, client_order_id))"
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, account: str, day: str, client_order_id: str) -> Optional[Record]:
        return self._one(
            "account=? AND trading_day=? AND client_order_id=?", (account, day, client_order_id)
        )

    def by_broker_id(self, account: str, day: str, broker_order_id: str) -> Optional[Record]:
        return self._one(
            "account=? AND trading_day=? AND broker_order_id=?", (account, day, broker_order_id)
        )

    def by_remark(self, account: str, day: str, remark: str) -> Optional[Record]:
        return self._one("account=? AND trading_day=? AND remark=?", (account, day, remark))

    def today(self, account: str, day: str) -> list[Record]:
        return self._many("account=? AND trading_day=?", (account, day))

    def insert_pending(
        self, account: str, day: str, client_order_id: str, fingerprint: str, remark: str, now: float
    ) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT INTO orders ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (account, day, client_order_id, fingerprint, remark, "pending", None, None, None, now, now),
            )

    def settle(
        self,
        account: str,
        day: str,
        client_order_id: str,
        state: str,
        now: float,
        broker_order_id: Optional[str] = None,
        http_status: Optional[int] = None,
        response: Optional[dict[str, Any]] = None,
    ) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        with self._lock:
            self._db.execute(
                "UPDATE orders SET state=?, broker_order_id=?, http_status=?, response=?, updated_at=?"
                " WHERE account=? AND trading_day=? AND client_order_id=?",
                (
                    state,
                    broker_order_id,
                    http_status,
                    None if response is None else json.dumps(response, ensure_ascii=False),
                    now,
                    account,
                    day,
                    client_order_id,
                ),
            )

    def settle_if(self, account: str, day: str, client_order_id: str, expected: str, state: str,
                  now: float) -> bool:
        """Moves a record from `expected` to `state` only if nothing settled it meanwhile."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        with self._lock:
            cursor = self._db.execute(
                "UPDATE orders SET state=?, updated_at=? WHERE account=? AND trading_day=? AND"
                " client_order_id=? AND state=?",
                (state, now, account, day, client_order_id, expected),
            )
            return cursor.rowcount == 1

    def _one(self, where: str, args: tuple[Any, ...]) -> Optional[Record]:
        rows = self._many(where, args)
        return rows[0] if rows else None

    def _many(self, where: str, args: tuple[Any, ...]) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM orders WHERE {where} ORDER BY created_at", args
            ).fetchall()
        return [_record(row) for row in rows]


def _record(row: tuple[Any, ...]) -> Record:
    values = list(row)
    values[8] = None if values[8] is None else json.loads(values[8])
    return Record(*values)
