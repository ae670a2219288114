"""One module per LSP feature: thin handlers over the pure modules. They are registered in server.py only."""
