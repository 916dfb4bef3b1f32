# Listar inst√¢ncias
dumont list

# Criar inst√¢ncia
dumont create --gpu RTX4090 --region US-East

# Ver detalhes
dumont show INSTANCE_ID

# Hibernar
dumont hibernate INSTANCE_ID

# Acordar
dumont wake INSTANCE_ID

# Deletar
dumont delete INSTANCE_ID
