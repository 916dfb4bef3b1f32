"""The GPU market: prices collected on a schedule, their history, forecasts that report their measured
accuracy, live offers, and the GPU advisor."""
