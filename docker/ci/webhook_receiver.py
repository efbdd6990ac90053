"""A webhook receiver for the CI stack: a container on the Compose network (it runs in the
registry's own image). It answers every POST with 204 after RECEIVER_DELAY_SECONDS (so
deliveries are in flight when a worker is restarted or killed) and appends the request to
/tmp/hooks.jsonl: the sender's address, the headers and the body, for the stack check to
verify the signatures."""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = "/tmp/hooks.jsonl"  # noqa: S108 (the container's own /tmp)
DELAY = float(os.environ.get("RECEIVER_DELAY_SECONDS", "0"))
LOCK = threading.Lock()


class Hooks(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        time.sleep(DELAY)
        record = {
            "peer": self.client_address[0],
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8"),
            "received_at": time.time(),
        }
        with LOCK, open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    open(LOG, "w").close()
    # Inside its container, on the Compose network: every interface of the container.
    ThreadingHTTPServer(("0.0.0.0", 8080), Hooks).serve_forever()  # noqa: S104
