"""The Dramatiq side: broker setup, one actor module per domain, and the scheduler."""
