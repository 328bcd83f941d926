"""Settings that cannot load stop every entry point with one line, not a traceback.

Each test starts the entry point in a subprocess, from a copy of the project in a
temporary folder: the copy has no ``.env``, so a developer's own ``.env`` (which
``scripts/demo.sh`` writes beside manage.py) cannot supply the missing SECRET_KEY.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Variables of the test process that the settings would otherwise read.
SETTINGS_VARIABLES = ("SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    """manage.py, the project and the app, without any .env."""
    copy = tmp_path_factory.mktemp("project")
    shutil.copy2(ROOT / "manage.py", copy / "manage.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("comms_project", "messages_app"):
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    # Under another name, so that only the test that asks for it uses it.
    shutil.copy2(ROOT / "gunicorn.conf.py", copy / "production.gunicorn.conf.py")
    assert not (copy / ".env").exists()
    return copy


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and project)
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def run_without_secret_key(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    return run(args, cwd, {**env, "DEBUG": "false"})


def configuration_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "SECRET_KEY" in line]


def test_manage_py_without_secret_key_prints_one_line_and_exits_78(project_copy):
    result = run_without_secret_key([sys.executable, "manage.py", "check"], project_copy)

    assert result.returncode == 78
    assert result.stderr.splitlines() == [
        "manage.py: configuration error: SECRET_KEY must be set when DEBUG is off: set it in the environment "
        "or in .env beside manage.py (see .env.example)."
    ]


def test_a_project_command_without_secret_key_does_not_show_djangos_keyerror(project_copy):
    result = run_without_secret_key([sys.executable, "manage.py", "import_historical", "x.jsonl"], project_copy)

    assert result.returncode == 78
    assert "KeyError" not in result.stderr and "Traceback" not in result.stderr
    assert len(configuration_lines(result.stderr)) == len(result.stderr.splitlines()) == 1


def test_loading_the_wsgi_application_without_secret_key_exits_with_gunicorns_app_load_status(project_copy):
    result = run_without_secret_key([sys.executable, "-c", "import comms_project.wsgi"], project_copy)

    assert result.returncode == 4
    assert result.stderr.splitlines() == [
        "comms_project.wsgi: configuration error: SECRET_KEY must be set when DEBUG is off: set it in the "
        "environment or in .env beside manage.py (see .env.example)."
    ]


def test_gunicorn_without_secret_key_stops_with_one_configuration_line(project_copy):
    args = [sys.executable, "-m", "gunicorn", "comms_project.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"]

    result = run_without_secret_key(args, project_copy)

    assert result.returncode == 4
    assert "Traceback" not in result.stderr
    assert len(configuration_lines(result.stderr)) == 1


def test_gunicorn_with_the_project_config_and_several_workers_stops_with_one_line(project_copy):
    """gunicorn.conf.py loads the settings in the master (on_starting), before any fork."""
    args = [sys.executable, "-m", "gunicorn", "-c", "production.gunicorn.conf.py", "comms_project.wsgi"]
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}

    result = run(args, project_copy, {**env, "DEBUG": "false", "BIND": "127.0.0.1:0", "WEB_CONCURRENCY": "3"})

    assert result.returncode == 4
    assert "Traceback" not in result.stderr
    assert configuration_lines(result.stderr) == [
        "gunicorn: configuration error: SECRET_KEY must be set when DEBUG is off: set it in the environment or "
        "in .env beside manage.py (see .env.example)."
    ]


def test_a_settings_error_after_the_settings_loaded_keeps_its_traceback(project_copy):
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'comms_project.settings'; django.setup()\n"
        "from django.core.exceptions import ImproperlyConfigured\n"
        "from comms_project.startup import settings_errors_reported\n"
        "with settings_errors_reported('x'):\n"
        "    raise ImproperlyConfigured('a programming error')\n"
    )

    result = run([sys.executable, "-c", code], project_copy, {**os.environ, "DEBUG": "true"})

    assert result.returncode == 1
    assert "Traceback" in result.stderr and "a programming error" in result.stderr
