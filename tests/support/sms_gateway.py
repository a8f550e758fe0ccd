"""A fake SMS provider: a real HTTP server on loopback that checks signatures and scripts answers.

The provider is the one third party we cannot run here, so it is faked, as a real server.
``script`` holds the next answers: a status code, ``"hang"`` (accept, but answer only after
``hang_seconds``, past the client's timeout) or ``"no-id"`` (200 without a message id).
It also serves as a webhook receiver (same signature scheme, same secret in the tests).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from notifications.sms import signature

SECRET = "test-sms-secret"


class SmsProvider:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []  # accepted messages (including late ones)
        self.requests: list[dict[str, str]] = []  # every signed request: timestamp and idempotency key
        self.script: deque[int | str] = deque()  # answers to give next; 200 when empty
        self.hang_seconds = 1.0
        self.bad_signatures = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers.get("X-FilingFlow-Timestamp", "")
                if self.headers.get("X-FilingFlow-Signature") != signature(SECRET, timestamp, body):
                    provider.bad_signatures += 1
                    self._answer(401, {"error": "bad signature"})
                    return
                key = self.headers.get("Idempotency-Key") or self.headers.get("X-FilingFlow-Delivery", "")
                provider.requests.append({"timestamp": timestamp, "key": key})
                answer = provider.script.popleft() if provider.script else 200
                if answer == "hang":
                    provider.received.append(json.loads(body))
                    time.sleep(provider.hang_seconds)
                    self._answer(200, {"message_id": f"sms-{len(provider.received)}"})
                elif answer == "no-id":
                    provider.received.append(json.loads(body))
                    self._answer(200, {"status": "queued"})
                elif answer == 200:
                    provider.received.append(json.loads(body))
                    self._answer(200, {"message_id": f"sms-{len(provider.received)}"})
                else:
                    self._answer(int(answer), {"error": f"scripted {answer}"})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    return

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/sms"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
