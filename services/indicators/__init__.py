"""Indicators of how the configuration works, computed in SQL from the records, as of any date."""
