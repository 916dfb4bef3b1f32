# Para parsing em scripts
dumont list --output json | jq '.instances[] | .name'
