"""Live metrics: WebSocket connections watching an instance, and each heartbeat pushed to them."""
