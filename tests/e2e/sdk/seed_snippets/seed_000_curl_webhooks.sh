curl -X POST /api/v1/webhooks \
  -d '{
    "url": "https://your-app.com/webhook",
    "events": ["instance.created", "failover.completed"]
  }'
