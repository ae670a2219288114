"""Secret detection: conventional secret files by name, and token patterns by content."""

import pytest

from training.secrets import secret_file_reason, secret_kinds, secret_line_count

# Fake secrets assembled at run time so that no scanner mistakes this file for a leak.
FAKE_AWS = "AKIA" + "IOSFODNN7EXAMPLE"
FAKE_GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
FAKE_SLACK = "xoxb-" + "123456789012-abcdefABCDEF"
PRIVATE_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"


@pytest.mark.parametrize("rel", [".env", "app/.env.local", "certs/server.pem", "tls.key", "home/id_rsa",
                                 "id_ed25519.pub", "store.p12", "aws/credentials", "gcp-credentials.json", "config/secrets.yaml"])
def test_secret_file_names_are_recognised(rel):
    assert secret_file_reason(rel) == "secret file name"


@pytest.mark.parametrize("rel", ["src/env.py", "keys.py", "auth/credentials.py", "secrets.py", "environment.ts", "pem.rs"])
def test_ordinary_source_names_are_not_secret(rel):
    assert secret_file_reason(rel) is None


@pytest.mark.parametrize("text, kind", [
    (f"KEY = '{FAKE_AWS}'\n", "AWS access key"),
    (f"token = get() or '{FAKE_GITHUB}'\n", "GitHub token"),
    (f"SLACK = {FAKE_SLACK!r}\n", "Slack token"),
    (f"KEY = '''{PRIVATE_KEY}'''\n", "private key block"),
    ('db_password = "hunter2hunter2"\n', "password assignment"),
    ("SECRET_KEY = 'django-insecure-abcdef'\n", "password assignment"),
    ('config = {"api_key": "sk-live-0123456789"}\n', "password assignment"),
])
def test_secret_content_is_recognised(text, kind):
    assert kind in secret_kinds(text)


@pytest.mark.parametrize("text", [
    'password = os.environ["DB_PASSWORD"]\n',
    'password = ""\n',
    'password = f"{prefix}{suffix}"\n',
    "def check_password(password: str) -> bool:\n    return hash(password) == STORED\n",
    "AKIA = 'short'\n",
])
def test_ordinary_code_is_not_secret(text):
    assert secret_kinds(text) == []


def test_secret_line_count_counts_lines_with_secrets():
    text = f"a = 1\nkey = '{FAKE_AWS}'\nb = 2\ntoken = '{FAKE_GITHUB}'\n"
    assert secret_line_count(text) == 2
