"""Benchmarks of the control plane, run with `make bench` (`python -m benchmarks`).

Every figure is measured in the same run as the baseline it is compared with, on this machine:

- `cold_start`: a fresh API Lambda process against a bare boto3 process;
- `dynamodb_requests`: DynamoDB requests made per API request, route by route, on the local stack;
- `snapshots`: packing and restoring a generated workspace against `tar | lz4`, and what a second
  snapshot uploads after 1% of the files changed.

This package stays free of imports: `cold_child` runs in the cold-start child processes.
"""
