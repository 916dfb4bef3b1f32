curl https://dumontcloud.com/api/machines \
  -H "Authorization: Bearer dumont_sk_..."
