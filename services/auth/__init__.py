"""Authentication (API keys, bearer tokens from the UN identity provider) and the rules of
who may do what."""
