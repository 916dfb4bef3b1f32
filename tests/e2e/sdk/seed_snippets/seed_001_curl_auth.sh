curl -H "Authorization: Bearer YOUR_API_KEY" \
     https://dumontcloud.com/api/v1/instances
