"""Who may do what (the policy every domain applies), and bearer tokens from the UN identity
provider. The authenticator, which also looks API keys up, is services.api_keys.authenticator."""
