"""The activity report: what a network did in a period, computed from the records and the
event history (docs/DOMAIN.md, "Reports"), as JSON, a zip of CSV files, or a printable HTML page."""
