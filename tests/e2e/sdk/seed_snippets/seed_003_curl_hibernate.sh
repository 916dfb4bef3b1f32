curl -X POST https://dumontcloud.com/api/instances/28864630/hibernate \
  -H "Authorization: Bearer dumont_sk_..."
