"""The registry's core: settings, database, and one package per domain.

Nothing in here imports ``api`` or ``worker``; dependencies point inward.
"""
