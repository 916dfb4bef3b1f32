"""Savings: what a team's use of our GPUs would have cost on AWS, GCP and Azure on demand, from its
billing history and a dated catalog of their prices."""
