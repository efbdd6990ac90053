"""Bulk import from CSV (``registry import``): rows checked and added through the domain
services, in one unit of work the caller commits or rolls back."""
