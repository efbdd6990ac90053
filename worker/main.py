"""The one place that imports the broker and every actor module.

Run workers with: ``dramatiq worker.main``.
"""

from worker import events, mail, meetings, mous, reviews, webhooks
from worker.broker import broker

__all__ = ["broker", "events", "mail", "meetings", "mous", "reviews", "webhooks"]
