"""Which GCM objectives a network covers, through which working groups and MoU areas — and
where two leads claim the same ground or nothing covers it."""
