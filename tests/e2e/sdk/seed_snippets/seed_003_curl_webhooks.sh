curl -X POST https://dumontcloud.com/api/webhooks \
  -H "Authorization: Bearer dumont_sk_..." \
  -d '{
    "url": "https://your-app.com/webhooks/dumont",
    "events": ["instance.created", "failover.triggered"],
    "secret": "your_webhook_secret"
  }'
