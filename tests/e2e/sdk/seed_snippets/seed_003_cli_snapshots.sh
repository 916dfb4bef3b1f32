# Criar snapshot
dumont snapshot create INSTANCE_ID --name "Backup"

# Listar snapshots
dumont snapshot list

# Restaurar
dumont snapshot restore SNAPSHOT_ID
