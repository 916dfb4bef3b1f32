"""The Dumont Cloud instance agent: reports how a GPU machine is used and keeps its workspace safe."""

__version__ = "0.1.0"
