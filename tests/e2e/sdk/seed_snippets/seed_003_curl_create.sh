curl -X POST https://dumontcloud.com/api/instances \
  -H "Authorization: Bearer dumont_sk_..." \
  -H "Content-Type: application/json" \
  -d '{
    "gpu_type": "RTX 4090",
    "region": "US-East",
    "auto_hibernate": true
  }'
