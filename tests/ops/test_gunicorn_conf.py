"""gunicorn.conf.py: bind, workers and the metrics folder come from the environment."""

import os
import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


@pytest.fixture
def load(monkeypatch):
    for name in ("BIND", "PORT", "WEB_CONCURRENCY", "METRICS_ENABLED", "PROMETHEUS_MULTIPROC_DIR", "LOG_FORMAT"):
        # Set first, so that the teardown removes what gunicorn.conf.py itself puts in
        # os.environ (the metrics folder), which later tests' subprocesses would inherit.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)

    def _load(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONF))

    return _load


def test_by_default_it_listens_on_loopback_port_8000_with_workers_from_the_cores(load):
    conf = load()

    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["workers"] == 2 * len(os.sched_getaffinity(0)) + 1
    assert (conf["timeout"], conf["graceful_timeout"], conf["accesslog"]) == (120, 30, "-")


def test_bind_port_and_web_concurrency_are_taken_from_the_environment(load):
    assert load(PORT="8123")["bind"] == ["127.0.0.1:8123"]
    assert load(BIND="0.0.0.0:9000", PORT="8123")["bind"] == ["0.0.0.0:9000"]
    assert load(WEB_CONCURRENCY="3")["workers"] == 3


def test_with_metrics_on_each_start_gets_a_fresh_metrics_folder_removed_at_exit(load):
    conf = load(METRICS_ENABLED="true")

    conf["when_ready"](None)
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    existed = folder.is_dir()
    conf["on_exit"](None)

    assert existed
    assert not folder.exists()


def test_a_given_metrics_folder_is_emptied_of_old_values_at_start(load, tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"old")
    conf = load(METRICS_ENABLED="true", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    conf["when_ready"](None)

    assert list(tmp_path.iterdir()) == []
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)


def test_without_metrics_no_folder_is_made(load):
    load()["when_ready"](None)

    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
