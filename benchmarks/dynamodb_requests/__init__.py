"""DynamoDB requests per API request, route by route, on the local stack.

- `counting`: the AWS calls the API function and the authorizer make for each of the bench's
  requests, told apart from the calls of everything else that runs meanwhile;
- `client`: the bench's requests over HTTP, each paired with the API run it caused;
- `machines`: the stack the bench runs on and the simulated machines it rents there;
- `instance_routes`, `snapshot_and_agent_routes`, `serverless_routes`, `access_routes`: the requests
  that exercise each group of routes, with the filters and outcomes that take different paths to the
  data;
- `run`: one run, every group in turn;
- `verdicts` and `report`: the targets, what each request broke of them, and the table.
"""

from benchmarks.dynamodb_requests.report import render
from benchmarks.dynamodb_requests.run import measure

__all__ = ["measure", "render"]
