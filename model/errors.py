"""The runtime's one exception type."""


class ModelError(Exception):
    """A model directory or store is missing, partial, corrupt or unusable; the message names the fix."""
