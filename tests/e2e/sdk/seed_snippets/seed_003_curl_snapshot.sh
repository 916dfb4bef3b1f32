curl -X POST https://dumontcloud.com/api/snapshots \
  -H "Authorization: Bearer dumont_sk_..." \
  -d '{
    "instance_id": "28864630",
    "name": "Backup",
    "compression": "lz4"
  }'
