curl -X POST /api/v1/auth/login \
  -d '{"email": "user@example.com", "password": "xxx"}'
