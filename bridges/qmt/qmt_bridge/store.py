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

# A cancel, per QMT order id and day; the row exists before cancel_order_stock() is called.
# sending: the call is (or was, if the bridge died) under way: its outcome is unknown.
# sent:    cancel_order_stock answered 0, the request is at the counter.
# unknown: no answer in time, -2, or an exception: it may be at the counter.
# refused: -1 while the order was live, on_cancel_error, or -3: it did not take effect.
CANCEL_STATES = ("sending", "sent", "unknown", "refused")


@dataclass(frozen=True)
class CancelRecord:
    account: str
    trading_day: str
    broker_order_id: str
    state: str
    attempts: int
    message: Optional[str]
    requested_at: float
    updated_at: float


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
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS cancels ("
            " account TEXT NOT NULL, trading_day TEXT NOT NULL, broker_order_id TEXT NOT NULL,"
            " state TEXT NOT NULL, attempts INTEGER NOT NULL, message TEXT,"
            " requested_at REAL NOT NULL, updated_at REAL NOT NULL,"
            " PRIMARY KEY (account, trading_day, broker_order_id))"
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

    # -- cancels ---------------------------------------------------------------------------

    def cancel_of(self, account: str, day: str, broker_order_id: str) -> Optional[CancelRecord]:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_CANCEL_COLUMNS} FROM cancels WHERE account=? AND trading_day=? AND broker_order_id=?",
                (account, day, broker_order_id),
            ).fetchone()
        return None if row is None else CancelRecord(*row)

    def cancels_today(self, account: str, day: str) -> dict[str, CancelRecord]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CANCEL_COLUMNS} FROM cancels WHERE account=? AND trading_day=?", (account, day)
            ).fetchall()
        return {row[2]: CancelRecord(*row) for row in rows}

    def begin_cancel(self, account: str, day: str, broker_order_id: str, now: float) -> None:
        """Persists a cancel attempt (state sending) before QMT hears of it."""
        with self._lock:
            self._db.execute(
                f"INSERT INTO cancels ({_CANCEL_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT(account, trading_day, broker_order_id) DO UPDATE SET state='sending',"
                " attempts=attempts+1, message=NULL, requested_at=excluded.requested_at,"
                " updated_at=excluded.updated_at",
                (account, day, broker_order_id, "sending", 1, None, now, now),
            )

    def settle_cancel(self, account: str, day: str, broker_order_id: str, state: str, now: float,
                      message: Optional[str] = None) -> None:
        if state not in CANCEL_STATES:
            raise ValueError(f"unknown cancel state {state!r}")
        with self._lock:
            self._db.execute(
                "UPDATE cancels SET state=?, message=?, updated_at=? WHERE account=? AND trading_day=?"
                " AND broker_order_id=?",
                (state, message, now, account, day, broker_order_id),
            )

    def _one(self, where: str, args: tuple[Any, ...]) -> Optional[Record]:
        rows = self._many(where, args)
        return rows[0] if rows else None

    def _many(self, where: str, args: tuple[Any, ...]) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM orders WHERE {where} ORDER BY created_at", args
            ).fetchall()
        return [_record(row) for row in rows]


_CANCEL_COLUMNS = "account, trading_day, broker_order_id, state, attempts, message, requested_at, updated_at"


def _record(row: tuple[Any, ...]) -> Record:
    values = list(row)
    values[8] = None if values[8] is None else json.loads(values[8])
    return Record(*values)
