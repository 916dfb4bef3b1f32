curl -H "X-API-Key: your_api_key" /api/v1/instances
