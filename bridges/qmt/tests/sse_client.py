"""A plain-socket Server-Sent Events reader for the stream tests (no library hides what is sent)."""
from __future__ import annotations

import json
import socket
import time
from typing import Any, Optional


class NoEvent(Exception):
    pass


class SseReader:
    def __init__(self, port: int, path: str, token: str, rcvbuf: Optional[int] = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # a small window makes a slow client: the server's writes block
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)  # a safety net only; see next_event
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                           "Accept: text/event-stream\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        status_line = self.file.readline().decode()
        self.status = int(status_line.split()[1])
        self.headers: dict[str, str] = {}
        while True:
            line = self.file.readline().decode().rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.comments: list[str] = []
        self.closed = False

    def error_body(self) -> Any:
        length = int(self.headers.get("content-length", "0"))
        return json.loads(self.file.read(length))

    def next_event(self, timeout: float = 3.0) -> Optional[dict[str, Any]]:
        """The next data event (comments are collected on the side); None at the end of stream.
        Raises NoEvent when only comments came for `timeout` seconds: the tests run the stream
        with short keepalives, so a read never blocks long (a socket timeout would leave the
        buffered reader unusable)."""
        end = time.monotonic() + timeout
        data: list[str] = []
        while True:
            raw = self.file.readline()
            if not raw:
                self.closed = True
                return None
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                if time.monotonic() > end:
                    raise NoEvent()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                return json.loads("\n".join(data))

    def events(self, count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        found = []
        for _ in range(count):
            event = self.next_event(timeout)
            if event is None:
                break
            found.append(event)
        return found

    def read_for(self, seconds: float) -> list[dict[str, Any]]:
        """Every event arriving within `seconds`."""
        found: list[dict[str, Any]] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                event = self.next_event(max(0.0, end - time.monotonic()))
            except NoEvent:
                break
            if event is None:
                break
            found.append(event)
        return found

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass
