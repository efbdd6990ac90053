"""Entities: UN-system organisations and other stakeholders, with their offices."""
