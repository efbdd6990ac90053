"""The demo data set, labelled as demo (``is_demo``), loaded on a fresh `make run`."""
