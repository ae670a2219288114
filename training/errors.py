"""The training package's error type: bad input that the CLI reports as one line and exit code 2."""


class TrainingError(Exception):
    """Bad input to a training command (missing checkpoint, unsupported architecture, ...); the message names the fix."""
