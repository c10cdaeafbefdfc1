"""Update sequences: the model-file schema and its loader."""
