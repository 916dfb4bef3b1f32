"""The agent that runs on every machine: its credentials, its heartbeats and the actions it is handed."""
