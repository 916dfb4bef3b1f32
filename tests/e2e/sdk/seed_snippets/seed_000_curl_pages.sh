curl /api/v1/instances?page=2&per_page=50
