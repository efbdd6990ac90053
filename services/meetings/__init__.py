"""Meetings of a network, a tier, a working group or the framing conference; the annual
extended-membership rule; reminders; calendar feeds."""
