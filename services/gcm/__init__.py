"""Reference data of the Global Compact for Migration: its 23 objectives and 10 guiding principles."""
