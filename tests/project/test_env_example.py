""".env.example names every setting the service reads from the environment."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def names_read(path: Path) -> set[str]:
    """The variables a module reads with django-environ (``env(…)``, ``env.int(…)``,
    ``Env(NAME=(…))``) or ``os.environ.get``."""
    text = path.read_text()
    found = set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
    found |= set(re.findall(r"\b_env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
    found |= set(re.findall(r"^\s+([A-Z][A-Z0-9_]+)=\(", text, re.MULTILINE))
    found |= set(re.findall(r"os\.environ\.get\(\"([A-Z][A-Z0-9_]+)\"", text))
    return found


def test_every_setting_read_from_the_environment_is_in_env_example():
    documented = (ROOT / ".env.example").read_text()
    read = names_read(ROOT / "comms_project" / "settings.py") | names_read(ROOT / "gunicorn.conf.py")

    assert {"SECRET_KEY", "DATABASE_URL", "HTTPS", "TRUSTED_PROXIES", "LOG_FORMAT"} <= read
    assert sorted(name for name in read if not re.search(rf"^#? ?{name}=", documented, re.MULTILINE)) == []
