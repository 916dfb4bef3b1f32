"""`dumont-agent`: started by a machine's first boot with its API URL, token and workspace."""

from __future__ import annotations

import logging
import signal
import threading

from dumont_agent.agent import AgentConfig, run_agent


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = AgentConfig.from_environment()
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    logging.getLogger("dumont_agent").info("Reporting to %s for %s", config.api_url, config.workspace)
    run_agent(config, stop)


if __name__ == "__main__":
    main()
