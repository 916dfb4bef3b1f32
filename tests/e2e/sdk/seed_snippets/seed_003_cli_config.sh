# Adicionar API key
dumont config set-key dumont_sk_...

# Verificar config
dumont config show
