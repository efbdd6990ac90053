"""Networks: the global UN Network on Migration and its regional and country networks."""
