"""Webhooks (Standard Webhooks 1.0): endpoints other UN systems register, and the deliveries
that carry every event to them, signed, retried and logged."""
