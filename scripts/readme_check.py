"""Run the README's shell commands as a new operator would, in a fresh clone.

``scripts/readme_check.sh`` runs this (standard library only). Steps:

1. ``git clone`` of this checkout's HEAD into a temporary folder (``--worktree``: a copy of
   the working tree instead, tracked and untracked files that git does not ignore, to check
   changes before committing them).
2. The README's first block must hold ``./scripts/demo.sh`` and ``./scripts/test.sh``.
   ``./scripts/demo.sh`` runs as printed, on a free port (``PORT``), with the server in
   the background; ``.ci/run`` runs the tests itself. Nothing from this process's
   environment reaches the commands' settings (no DEBUG, SECRET_KEY, DATABASE_URL): they
   must work from the ``.env`` that demo.sh writes.
3. The ``curl`` command setup_demo prints under "Try it:" runs as printed.
4. The files the README's import examples name are made from an export of the demo
   department: ``dumps/2019.jsonl``, ``dumps/2020/2020.jsonl``, ``history.jsonl.gz``, ``big.json``.
5. Every other ```sh block of the README runs, command by command, in the README's order,
   from the clone's folder, with ``bash -o pipefail``. A command fails the check on a
   non-zero exit status, and a ``curl`` also on an HTTP error status or on an answer
   with failed items. The PUT example also runs once with ``?dryRun=true`` appended to
   its URL, as the README's text says.

Substitutions, the only changes made to a command (the README writes these as placeholders):

- ``127.0.0.1:8000`` becomes the free port demo.sh serves on;
- ``SECRET`` in ``demo-client:SECRET`` becomes the API secret setup_demo printed;
- ``MESSAGE_UUID`` becomes the ``messageUuid`` the README's PUT answered;
- a quoted ``'…'`` value (a password for the reader to choose) becomes a generated one;
- ``curl`` gets ``-sS --fail-with-body`` so that an HTTP error fails the command.

A marker on the line right before a block's fence changes how it runs:

- ``<!-- readme-check: skip REASON -->``: not run (minutes of work, or a database of its own);
- ``<!-- readme-check: service -->``: each command is a long-running process: it must still
  be running after SERVICE_SECONDS, then it is stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE_OPEN = re.compile(r"^```sh\s*$")
MARKER = re.compile(r"^<!--\s*readme-check:\s*(skip|service)\b\s*(.*?)\s*-->\s*$")
CHOSEN = re.compile(r"'…[^']*'")
SETTINGS_VARIABLES = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "CACHE_URL")
SETUP_TIMEOUT = 600
COMMAND_TIMEOUT = 180
SERVICE_SECONDS = 5


@dataclass
class Block:
    """One ```sh block: where it starts, its marker and its logical commands."""

    line: int
    marker: str | None
    reason: str
    commands: list[str]


def readme_blocks(text: str) -> list[Block]:
    """Every ```sh block, with the marker on the line before its fence, if any."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if not FENCE_OPEN.match(lines[i]):
            i += 1
            continue
        previous = lines[i - 1] if i else ""
        marker = MARKER.match(previous)
        start = i + 1
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        blocks.append(
            Block(start, marker.group(1) if marker else None, marker.group(2) if marker else "", logical(body))
        )
        i += 1
    return blocks


def logical(lines: list[str]) -> list[str]:
    """Commands of a block: a line and the lines that continue it (a trailing backslash, or
    a quote still open)."""
    commands: list[str] = []
    current: list[str] = []
    for line in lines:
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current.append(line)
        if not line.rstrip().endswith("\\") and complete("\n".join(current)):
            commands.append("\n".join(current))
            current = []
    if current:
        commands.append("\n".join(current))
    return commands


def complete(command: str) -> bool:
    """Whether every quote of the command is closed."""
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


class Check:
    """The clone, the demo server and the values substituted into commands."""

    def __init__(self, clone: Path, port: int) -> None:
        self.clone = clone
        self.port = port
        self.env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
        self.env["PORT"] = str(port)
        self.secret = ""
        self.message_uuid = ""
        self.chosen = secrets.token_urlsafe(24)
        self.failures: list[str] = []
        self.server: subprocess.Popen[bytes] | None = None

    def substitute(self, command: str) -> str:
        command = command.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")
        command = command.replace("demo-client:SECRET", f"demo-client:{self.secret}")
        command = command.replace("MESSAGE_UUID", self.message_uuid or "MESSAGE_UUID")
        command = CHOSEN.sub(f"'{self.chosen}'", command)
        return re.sub(r"^curl ", "curl -sS --fail-with-body ", command)

    def run(self, command: str, *, label: str, service: bool = False) -> str:
        """Run one command from the clone's folder; record a failure, answer its output."""
        shown = " ".join(command.split())
        shown = shown if len(shown) <= 110 else shown[:107] + "..."
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 (the README's own commands)
            ["bash", "-o", "pipefail", "-c", command],  # noqa: S607
            cwd=self.clone,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        limit = SERVICE_SECONDS if service else COMMAND_TIMEOUT
        try:
            output, _ = process.communicate(timeout=limit)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                output, _ = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                output, _ = process.communicate()
            timed_out = True
        text = output.decode(errors="replace")
        elapsed = time.monotonic() - started
        problem = self.problem(command, process.returncode, text, timed_out=timed_out, service=service)
        print(f"{'FAIL' if problem else 'ok  '} {elapsed:5.1f}s  {label}: {shown}", flush=True)
        if problem:
            self.failures.append(f"{label}: {shown}: {problem}")
            print("      " + problem, flush=True)
            for line in text.splitlines()[-15:]:
                print("      | " + line, flush=True)
        return text

    @staticmethod
    def problem(command: str, status: int, output: str, *, timed_out: bool, service: bool) -> str:
        if service:
            return "" if timed_out else f"stopped by itself (status {status}) within {SERVICE_SECONDS}s"
        if timed_out:
            return f"still running after {COMMAND_TIMEOUT}s"
        if status != 0:
            return f"exit status {status}"
        if command.startswith("curl "):
            try:
                answer = json.loads(output)
            except ValueError:
                return ""
            if isinstance(answer, dict) and answer.get("failedSourceUuids"):
                return f"items failed: {answer['failedSourceUuids']}"
        return ""

    def start_demo(self) -> str:
        """./scripts/demo.sh as the README prints it, serving in the background."""
        log_path = self.clone.parent / "demo.log"
        with log_path.open("wb") as log:
            self.server = subprocess.Popen(
                ["./scripts/demo.sh"],
                cwd=self.clone,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + SETUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(f"readme_check: demo.sh stopped:\n{log_path.read_text()[-3000:]}")
            if "API secret" in log_path.read_text() and self.answers(f"http://127.0.0.1:{self.port}/admin/login/"):
                return log_path.read_text()
            time.sleep(0.5)
        raise SystemExit(f"readme_check: demo.sh did not serve within {SETUP_TIMEOUT}s")

    @staticmethod
    def answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own server)
                return response.status == 200
        except OSError:
            return False

    def stop_demo(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)

    def make_files(self) -> None:
        """The files the README's import examples name, from an export of the demo department."""
        self.run(
            "mkdir -p dumps/2020 && "
            ".venv/bin/python manage.py export_historical --department demo-department --output dumps/2019.jsonl && "
            "cp dumps/2019.jsonl dumps/2020/2020.jsonl && cp dumps/2019.jsonl big.json && "
            "gzip -c dumps/2019.jsonl > history.jsonl.gz",
            label="files for the import examples",
        )


def printed_block(output: str, title: str) -> list[str]:
    """The indented lines printed under ``title``, unindented."""
    lines = output.split(title, 1)[1].splitlines()[1:]
    block: list[str] = []
    for line in lines:
        if not line.startswith("  "):
            break
        block.append(line.strip())
    return block


def put_message_uuid(answer: str) -> str:
    """The messageUuid of a PUT's first item, or "" when the answer is not one."""
    try:
        return json.loads(answer)["saveMessageResponse"][0]["messageUuid"] or ""
    except (ValueError, LookupError, TypeError):
        return ""


def uncommitted() -> bool:
    """Whether the checkout differs from HEAD in files git does not ignore."""
    status = subprocess.run(
        ["git", "status", "--porcelain"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return bool(status.stdout.strip())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_clone(work: Path, *, worktree: bool) -> Path:
    clone = work / "clone"
    if not worktree:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)  # noqa: S603, S607
        return clone
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    return clone


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worktree", action="store_true", help="copy the working tree instead of cloning HEAD")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="readme-check-"))
    clone = make_clone(work, worktree=args.worktree)
    if not args.worktree and uncommitted():
        print("note: this checkout has uncommitted changes, which a clone leaves out (--worktree checks them)")
    blocks = readme_blocks((clone / "README.md").read_text())
    first = blocks[0].commands
    if not any(c.startswith("./scripts/demo.sh") for c in first) or not any(
        c.startswith("./scripts/test.sh") for c in first
    ):
        shutil.rmtree(work, ignore_errors=True)
        print("readme_check: the README's first block must hold ./scripts/demo.sh and ./scripts/test.sh", flush=True)
        return 1
    check = Check(clone, free_port())
    try:
        started = time.monotonic()
        printed = check.start_demo()
        elapsed = time.monotonic() - started
        print(f"ok   {elapsed:5.1f}s  README line {blocks[0].line}: ./scripts/demo.sh (PORT={check.port})", flush=True)
        check.secret = re.search(r"API secret\s*:\s*(\S+)", printed).group(1)
        printed_curl = "\n".join(printed_block(printed, "Try it:"))
        check.run(check.substitute(printed_curl), label="the curl setup_demo printed")
        check.make_files()
        for block in blocks[1:]:
            if block.marker == "skip":
                print(f"skip         README line {block.line}: {block.reason}", flush=True)
                continue
            for command in block.commands:
                label = f"README line {block.line}"
                text = check.run(check.substitute(command), label=label, service=block.marker == "service")
                if command.startswith("curl ") and "-X PUT" in command and not check.message_uuid:
                    check.message_uuid = put_message_uuid(text)
                    dry_run = re.sub(r"/communication/historical'", "/communication/historical?dryRun=true'", command)
                    check.run(check.substitute(dry_run), label=f"{label} with ?dryRun=true")
    finally:
        check.stop_demo()
        if args.keep:
            print(f"readme_check: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if check.failures:
        print(f"readme_check: {len(check.failures)} command(s) failed:", *check.failures, sep="\n  ")
        return 1
    print("readme_check: every README command works as printed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
