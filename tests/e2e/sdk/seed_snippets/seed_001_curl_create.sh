curl -X POST \
  -H "Authorization: Bearer YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "gpu": "RTX 4090",
    "image": "pytorch:2.0-cuda12",
    "disk_size": 100
  }' \
  https://dumontcloud.com/api/v1/instances
