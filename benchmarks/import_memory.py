"""Peak memory of `import_historical` on a large JSON Lines file.

    .venv/bin/python benchmarks/import_memory.py                 # 200 MB file, throwaway SQLite
    .venv/bin/python benchmarks/import_memory.py --size-mb 20    # quicker
    .venv/bin/python benchmarks/import_memory.py --format json   # one big JSON document, streamed item by item
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comms .venv/bin/python benchmarks/import_memory.py

Generates a JSON Lines file of fully populated messages (tests/builders.full_message:
draft, attachments, tags, notification and voice-call attributes) in /tmp, creates
a throwaway database (a SQLite file, or a new database on the DATABASE_URL server,
dropped afterwards), runs the command in a subprocess and reports that process's peak
resident set size (``os.wait4``'s rusage of that one child). The import streams its
input, so the figure stays flat whatever the file size. Exit status 1 when the import
failed or the peak is over the limit.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEPARTMENT = "bench-department"
ITEMS_PER_DOCUMENT = 100
CUSTOMERS = 500
LIMIT_MB = 250


def message(n: int) -> dict:
    """tests/builders.full_message with a sourceUuid of its own."""
    from tests.builders import full_message

    return full_message(n, sourceUuid=f"bench-{n:09d}")


def setup_django() -> None:
    """Django set up in this process, for tests/builders (the import runs in a subprocess)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_project.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789")
    import django

    django.setup()


def generate(path: Path, size_mb: float, *, single_document: bool = False) -> int:
    """Write documents of ITEMS_PER_DOCUMENT messages until the file reaches ``size_mb``,
    or (``single_document``) one JSON document holding every message."""
    target, written, n = size_mb * 1024 * 1024, 0, 0
    with path.open("w", encoding="utf-8") as stream:
        if single_document:
            stream.write(
                f'{{"departmentUUID": "{DEPARTMENT}", "customerUUID": "customer-0",\n"saveMessageRequestList": [\n'
            )
            while written < target:
                written += stream.write(("" if n == 0 else ",\n") + json.dumps(message(n), separators=(",", ":")))
                n += 1
            stream.write("\n]}\n")
            return n
        while written < target:
            items = [message(n + i) for i in range(ITEMS_PER_DOCUMENT)]
            doc = {
                "departmentUUID": DEPARTMENT,
                "customerUUID": f"customer-{(n // ITEMS_PER_DOCUMENT) % CUSTOMERS}",
                "saveMessageRequestList": items,
            }
            written += stream.write(json.dumps(doc, separators=(",", ":")) + "\n")
            n += ITEMS_PER_DOCUMENT
    return n


class ThrowawayDatabase:
    """A SQLite file in a temporary folder, or a new database beside DATABASE_URL's."""

    def __init__(self, server_url: str | None) -> None:
        self.server_url = server_url
        self.folder = Path(tempfile.mkdtemp(prefix="import-memory-"))
        self.name = f"comms_bench_{os.getpid()}"

    def __enter__(self) -> str:
        if not self.server_url:
            return f"sqlite:///{self.folder / 'bench.sqlite3'}"
        self._admin(f'CREATE DATABASE "{self.name}"')
        parts = urlsplit(self.server_url)
        return urlunsplit(parts._replace(path=f"/{self.name}"))

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.server_url:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')

    def _admin(self, statement: str) -> None:
        import psycopg

        maintenance = urlunsplit(urlsplit(self.server_url)._replace(path="/postgres"))
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(statement)


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def peak_rss_mb(env: dict, args: list[str], log: Path) -> tuple[int, float, float]:
    """Run ``manage.py ARGS``; return its exit status, peak RSS (MB) and wall time (s)."""
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=output, stderr=output
        )
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024, time.monotonic() - started  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=200, help="Size of the generated file (default 200).")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--format",
        choices=["jsonl", "json"],
        default="jsonl",
        help="JSON Lines of 100-item documents (default), or one JSON document holding every item.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the generated file and the command's log.")
    options = parser.parse_args()
    setup_django()

    path = Path(tempfile.gettempdir()) / f"import_memory_{options.size_mb:g}mb.{options.format}"
    log = path.with_suffix(".log")
    started = time.monotonic()
    count = generate(path, options.size_mb, single_document=options.format == "json")
    size_mb = path.stat().st_size / 1024 / 1024
    print(f"generated {path}: {size_mb:,.1f} MB, {count:,} messages in {time.monotonic() - started:,.0f} s")
    try:
        with ThrowawayDatabase(os.environ.get("DATABASE_URL")) as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "SECRET_KEY": "benchmark-only-secret-key-0123456789",
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
            }
            manage(env, "migrate", "-v", "0")
            manage(env, "create_api_client", "bench-client", "--department", DEPARTMENT)
            _, baseline, _ = peak_rss_mb(env, ["check"], log)
            status, peak, seconds = peak_rss_mb(
                env, ["import_historical", str(path), "--batch-size", str(options.batch_size)], log
            )
            summary = log.read_text(errors="replace").strip().splitlines()[-4:]
    finally:
        if not options.keep:
            path.unlink(missing_ok=True)
            log.unlink(missing_ok=True)
    print(f"database: {database_url.split(':', 1)[0]}; import exit status {status}; {seconds:,.0f} s", end="")
    print(f" ({count / seconds:,.0f} messages/s, {size_mb / seconds:,.2f} MB/s)")
    print("\n".join(f"  | {line}" for line in summary))
    print(f"peak RSS of the import process: {peak:,.1f} MB (a bare `manage.py check`: {baseline:,.1f} MB)")
    under = peak < LIMIT_MB
    print(f"under {LIMIT_MB} MB: {'yes' if under else 'NO'}")
    sys.exit(0 if status == 0 and under else 1)


if __name__ == "__main__":
    main()
