"""The activity report: what a network did in a period, computed from the records and the
event history (DESIGN §1, Report), as JSON, a zip of CSV files, or a printable HTML page."""
