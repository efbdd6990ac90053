"""A real HTTP receiver for webhooks on loopback, verifying with the standardwebhooks package."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Records every request; answers with the next status in ``script`` (then 200)."""

    def __init__(self, script: list[int] | None = None, *, stall_first_seconds: float = 0.0, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script = list(script or [])
        self.lock = threading.Lock()
        self.stall_first_seconds = stall_first_seconds
        self.first_arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "received_at": time.time(),
                        }
                    )
                    status = receiver.script.pop(0) if receiver.script else 200
                    stall = receiver.stall_first_seconds if not receiver.first_arrived.is_set() else 0.0
                    receiver.first_arrived.set()
                if stall:
                    time.sleep(stall)  # the sender is mid-delivery now
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def ids(self) -> list[str]:
        with self.lock:
            return [r["headers"]["webhook-id"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
