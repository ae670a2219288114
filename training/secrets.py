"""Secret detection for training data: files that must never be trained on, by name or by content.

Only the kind of secret is ever reported (a pattern's name), never the matched text.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pathspec

# gitignore-style patterns of files that hold secrets by convention, whatever their content.
SECRET_FILE_PATTERNS = (
    ".env", ".env.*", "*.env",
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
    "credentials", "*credentials.json", "credentials.y*ml", "credentials.ini", "credentials.toml", "credentials.csv",
    ".netrc", ".pgpass", ".pypirc", ".npmrc", ".htpasswd",
    "secrets.json", "secrets.y*ml", "secrets.toml", "secrets.ini", "*.secret", "*.secrets",
)
_SECRET_FILES = pathspec.GitIgnoreSpec.from_lines(SECRET_FILE_PATTERNS)

# Content patterns, by the name reported when a file matches.
SECRET_CONTENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "private key block": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"(?i)aws_?secret_?access_?key\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/T[A-Za-z0-9_/]+"),
    "password assignment": re.compile(
        r"(?i)\b[\w.-]*(?:password|passwd|pwd|secret|secret_?key|api_?key|access_?token|auth_?token|private_?key)\b['\"]?\s*[:=]\s*"
        r"[rbuf]?(['\"])(?!\s*\1)[^'\"\s{}$<>]{4,}\1"),
}


def secret_file_reason(rel: str) -> str | None:
    """'secret file name' when the repository-relative path `rel` names a conventional secret file, else None."""
    return "secret file name" if _SECRET_FILES.match_file(PurePosixPath(rel).as_posix()) else None


def secret_kinds(text: str) -> list[str]:
    """Names of the secret patterns that occur in `text` (in SECRET_CONTENT_PATTERNS order)."""
    return [name for name, pattern in SECRET_CONTENT_PATTERNS.items() if pattern.search(text)]


def secret_line_count(text: str) -> int:
    """How many lines of `text` contain a secret pattern."""
    return sum(1 for line in text.splitlines() if secret_kinds(line))
