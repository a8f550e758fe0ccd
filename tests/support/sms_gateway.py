"""A fake SMS provider: a real HTTP server on loopback that checks signatures and scripts answers.

The provider is the one third party we cannot run here, so it is faked, as a real server.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from notifications.sms import signature

SECRET = "test-sms-secret"


class SmsProvider:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: deque[int] = deque()  # status codes to answer next; 200 when empty
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
                status = provider.script.popleft() if provider.script else 200
                if status == 200:
                    message = json.loads(body)
                    provider.received.append(message)
                    self._answer(200, {"message_id": f"sms-{len(provider.received)}"})
                else:
                    self._answer(status, {"error": f"scripted {status}"})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/sms"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
