"""Failover: what an instance does when its machine dies, how it is set up, and drills."""
