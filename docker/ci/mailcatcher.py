#!/usr/bin/python3
"""A mail catcher for the CI stack, speaking a small part of mailpit's interface.

/mailpit          SMTP on :1025, HTTP on :8025, messages kept in memory
/mailpit readyz   exit 0 when the HTTP side answers (the Compose healthcheck)
"""

import asyncio
import email
import email.policy
import json
import sys
import threading
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

MESSAGES: list[dict] = []
LOCK = threading.Lock()


class Store:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        with LOCK:
            MESSAGES.append(
                {
                    "ID": uuid.uuid4().hex,
                    "From": {"Address": envelope.mail_from},
                    "To": [{"Address": address} for address in envelope.rcpt_tos],
                    "Subject": str(parsed.get("Subject", "")),
                    "Created": datetime.now(UTC).isoformat(),
                    "Size": len(raw),
                    "raw": raw,
                }
            )
        return "250 Message accepted for delivery"


class Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/readyz":
            return self.reply(200, b"ok", "text/plain")
        with LOCK:
            messages = list(MESSAGES)
        if self.path.startswith("/api/v1/messages"):
            summaries = [{k: v for k, v in m.items() if k != "raw"} for m in reversed(messages)]
            body = json.dumps({"total": len(summaries), "messages": summaries}).encode()
            return self.reply(200, body, "application/json")
        for m in messages:
            if self.path == f"/api/v1/message/{m['ID']}/raw":
                return self.reply(200, m["raw"], "message/rfc822")
        return self.reply(404, b"not found", "text/plain")

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def serve() -> None:
    # Inside its container, on the Compose network: every interface of the container.
    controller = Controller(Store(), hostname="0.0.0.0", port=1025, server_hostname="mailcatcher")  # noqa: S104
    controller.start()
    print("mail catcher: SMTP on :1025, HTTP on :8025", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8025), Api).serve_forever()  # noqa: S104


def readyz() -> int:
    try:
        with urllib.request.urlopen("http://127.0.0.1:8025/readyz", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    if sys.argv[1:] == ["readyz"]:
        sys.exit(readyz())
    asyncio.set_event_loop(asyncio.new_event_loop())
    serve()
