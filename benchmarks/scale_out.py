"""PUT throughput with 1, 2 and 4 app hosts, directly to PostgreSQL and through pgbouncer.

    .venv/bin/python benchmarks/scale_out.py                     # the issue's run, 8,000 per cell (~3 min here)
    .venv/bin/python benchmarks/scale_out.py --messages 1000     # smoke run (~1 min)

Each "host" is a gunicorn process (``--workers 1``) on a port of its own; the clients
(threads, 4 and 8) are spread over the hosts round-robin and each sends its own batches
(batches k, k+C, …: one customer per batch, so no two clients write the same customer).
All hosts of both modes run from the start; for each cell the two modes run one after
the other, taking turns going first. The messages are tests/builders.full_message items
(18 rows each), ``--batch`` (default 500) per PUT, the same ``--messages`` N for every
cell of the table. Every cell starts from empty message tables, ANALYZEd and
CHECKPOINTed (autovacuum is off on this development machine's server); every answer is
checked (200, every item stored).

Two connection modes: "direct" (gunicorn -> PostgreSQL at ``--server``) and "pgbouncer"
(gunicorn -> a throwaway pgbouncer in transaction pooling mode -> the same server, with
DISABLE_SERVER_SIDE_CURSORS=true). Without ``PGBOUNCER_PORT`` in the environment the
script runs itself under scripts/with_pgbouncer.sh, which starts that pgbouncer;
``--direct-only`` skips it. The app's settings are the README's production ones
(CONN_MAX_AGE=600, CONN_HEALTH_CHECKS=true, DEBUG off, LOG_LEVEL=WARNING).

It creates and drops the throwaway database ``--database`` (default comms_scale_out).
Figures are noisy on a shared machine, and with more hosts than cores the hosts share
the cores: read the table as a shape, not as a capacity. Exit status 0 after a complete
run, 1 when the run itself broke (a failed answer, wrong row counts, a server that did
not start), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_speed import (  # noqa: E402 (needs ROOT on the path)
    API_PATH,
    CLIENT_NAME,
    CLIENT_SECRET,
    DEPARTMENT,
    Batch,
    BenchmarkFailure,
    Client,
    Server,
    check_answer,
    check_rows,
    configure,
    expected_rows,
    level,
    make_batches,
    recreate_database,
    say,
    warm_up,
)

HOSTS = (1, 2, 4)
CLIENTS = (4, 8)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=8000, help="messages per cell of the table (default 8000)")
    parser.add_argument("--batch", type=int, default=500, help="messages per PUT (default 500)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--database", default="comms_scale_out", help="throwaway database (default comms_scale_out)")
    parser.add_argument("--direct-only", action="store_true", help="no pgbouncer rows")
    args = parser.parse_args(argv)
    if args.messages < 1 or not 1 <= args.batch <= 1000:
        parser.error("--messages must be positive, --batch 1-1000")
    if not args.database.replace("_", "").isalnum():
        parser.error("--database must be letters, digits and underscores")
    args.json_bytes = 2500
    return args


def send_round_robin(ports: list[int], authorization: str, batches: list[Batch], clients: int) -> float:
    """PUT every batch from ``clients`` threads, client k talking to host k mod hosts; the
    seconds from the first PUT to the last answer."""
    failures: list[BaseException] = []
    stop = threading.Event()
    start = threading.Barrier(clients + 1)

    def run(port: int, share: list[Batch]) -> None:
        try:
            start.wait()
            for batch in share:
                if stop.is_set():
                    return
                client = Client(port, authorization)  # gunicorn's sync worker closes after each answer
                try:
                    status, data = client.put(
                        API_PATH.format(department=DEPARTMENT, customer=batch.customer), batch.body
                    )
                finally:
                    client.close()
                check_answer("PUT", status, data, batch)
        except BaseException as exc:
            failures.append(exc)
            stop.set()

    threads = [threading.Thread(target=run, args=(ports[k % len(ports)], batches[k::clients])) for k in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        failure = failures[0]
        raise failure if isinstance(failure, BenchmarkFailure) else BenchmarkFailure(repr(failure))
    return elapsed


def start_hosts(count: int, env: dict[str, str], authorization: str, servers: list[Server]) -> list[Server]:
    started = []
    for _ in range(count):
        server = Server(1, env, authorization)
        servers.append(server)
        started.append(server)
        warm_up(server, authorization, peer=False)
    return started


def run(args: argparse.Namespace, gunicorn_env: dict[str, str], servers: list[Server]) -> None:
    import django

    django.setup()
    import psycopg
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    call_command(
        "create_api_client", CLIENT_NAME, "--department", DEPARTMENT, "--password", CLIENT_SECRET, stdout=io.StringIO()
    )
    authorization = "Basic " + base64.b64encode(f"{CLIENT_NAME}:{CLIENT_SECRET}".encode()).decode()
    admin = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    batches = make_batches("scale", args.messages, args.batch, args.json_bytes)
    expected = expected_rows(batches, 1)

    gunicorn_env = {**gunicorn_env, "GUNICORN_CMD_ARGS": "--access-logfile /dev/null"}
    modes = {"direct": gunicorn_env}
    if not args.direct_only:
        pgbouncer = f"postgres://postgres@127.0.0.1:{os.environ['PGBOUNCER_PORT']}/{args.database}"
        modes["pgbouncer"] = {**gunicorn_env, "DATABASE_URL": pgbouncer, "DISABLE_SERVER_SIDE_CURSORS": "true"}
    if len(batches) < max(CLIENTS):
        say(f"note: {len(batches)} batches for up to {max(CLIENTS)} clients: some clients have nothing to send")
    say(
        f"scale-out on PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} cores; "
        f"{args.messages:,} messages per cell, {args.batch} per PUT (full_message, 18 rows each), "
        "gunicorn --workers 1 per host, CONN_MAX_AGE=600"
    )
    rates: dict[tuple[str, int, int], float] = {}
    hosts = {mode: start_hosts(max(HOSTS), env, authorization, servers) for mode, env in modes.items()}
    cells = [(count, clients) for count in HOSTS for clients in CLIENTS]
    for number, (count, clients) in enumerate(cells):
        # The modes take turns going first, so a machine that grows busier or quieter
        # during the run does not favour one of them.
        order = list(modes) if number % 2 == 0 else list(reversed(modes))
        for mode in order:
            level(admin)
            ports = [server.port for server in hosts[mode][:count]]
            seconds = send_round_robin(ports, authorization, batches, clients)
            check_rows(admin, expected, f"{mode}, {count} hosts, {clients} clients")
            rates[(mode, count, clients)] = args.messages / seconds
            say(f"  {mode:9} {count} host(s) {clients} clients: {rates[(mode, count, clients)]:,.0f} messages/s")
    admin.close()

    say("\nmessages/s of PUTs (higher is better)")
    header = "| hosts | " + " | ".join(f"{mode}, {clients} clients" for mode in modes for clients in CLIENTS) + " |"
    say(header)
    say("|---:|" + "---:|" * (len(modes) * len(CLIENTS)))
    for count in HOSTS:
        cells = " | ".join(f"{rates[(mode, count, clients)]:,.0f}" for mode in modes for clients in CLIENTS)
        say(f"| {count} | {cells} |")
    if "pgbouncer" in modes:
        ratios = [rates[("pgbouncer", h, c)] / rates[("direct", h, c)] for h in HOSTS for c in CLIENTS]
        say(f"through pgbouncer / direct, per cell: {min(ratios):.2f} to {max(ratios):.2f}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not args.direct_only and "PGBOUNCER_PORT" not in os.environ:
        script = ROOT / "scripts" / "with_pgbouncer.sh"
        os.execv(str(script), [str(script), sys.executable, str(Path(__file__).resolve()), *argv])
    gunicorn_env = configure(args)
    try:
        recreate_database(args.server, args.database)
    except Exception as exc:
        say(f"run broke: cannot create database {args.database} on {args.server}: {exc}")
        return 1
    servers: list[Server] = []
    try:
        run(args, gunicorn_env, servers)
        return 0
    except BenchmarkFailure as exc:
        say(f"\nrun broke: {exc}")
        return 1
    finally:
        for server in servers:
            server.stop()
        with contextlib.suppress(Exception):  # Django may not be set up
            from django.db import connections

            connections.close_all()
        recreate_database(args.server, args.database, drop_only=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
