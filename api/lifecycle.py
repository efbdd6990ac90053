"""The API process's lifecycle state: set once SIGTERM arrives, so readiness turns 503 and
responses ask clients to reconnect (to another replica) while in-flight work finishes."""

import threading

draining = threading.Event()
