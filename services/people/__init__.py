"""People: focal points as persons, and the dated posts they hold (docs/DOMAIN.md, "Focal points")."""
