"""Accounts, credentials (passwords, JWTs, API keys) and who a request comes from."""
