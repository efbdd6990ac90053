"""Workplans: a network's plan for a period and the activities in it."""
