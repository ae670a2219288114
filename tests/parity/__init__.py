"""Runtime vs transformers parity on every supported family."""
