curl -H "Authorization: Bearer eyJ..." /api/v1/instances
