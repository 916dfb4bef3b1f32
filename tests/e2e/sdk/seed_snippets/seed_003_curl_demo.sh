curl https://dumontcloud.com/api/machines?demo=true
