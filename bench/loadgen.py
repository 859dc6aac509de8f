"""What the HTTP benchmarks share: the production set-up on loopback and a lean load generator.

A bench script (``cast_ballots.py``, ``answer_surveys.py``) fills its own PostgreSQL database
(dropped and created afresh, dropped at the end), starts gunicorn from the venv and one rq
worker (``flask worker``) configured through PARTICIPATION_* variables, and drives the load
from a separate process: the script itself run with ``--drive``, ``--clients`` clients on one
selector loop, each with its own connection, closed loop (each client sends its next request
when the last one is answered) or paced at ``--rate`` per second in total (open loop: latency
counted from the time a request was due, so a server that falls behind is not flattered).
CPU time per request of gunicorn, the worker, PostgreSQL's backends and the load generator is
read from /proc: on a shared machine, the figure that other load does not distort.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import http.client
import json
import math
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from redis import Redis
from sqlalchemy.engine import make_url

from participation import create_app
from participation.auth.models import Account, StaffUser, SubjectKind
from participation.auth.tokens import issue_tokens
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.importer import import_roster_file
from participation.roster.models import Community, Compound, District, Owner, Street
from participation.votes.models import Matter, Vote
from participation.votes.services import open_vote

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-not-for-production-0123456789"
DWELLINGS_PER_BUILDING = 2 * 6 * 2  # roster_rows' defaults: entrances × floors × rooms


# Setting up ---------------------------------------------------------------------------------


def fresh_database(url: str, drop_only: bool = False) -> None:
    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def settings(url: str, redis_url: str | None = None, queue: str | None = None) -> dict:
    """The app's configuration, for this process and for gunicorn's and the worker's."""
    env = {
        "PARTICIPATION_DATABASE_URL": url,
        "PARTICIPATION_SECRET_KEY": SECRET,
        "PARTICIPATION_JWT_SECRET_KEY": SECRET,
        "PARTICIPATION_ID_HASH_KEY": "bench-id-hash-key",
    }
    if redis_url:
        env.update({"PARTICIPATION_REDIS_URL": redis_url, "PARTICIPATION_RQ_QUEUE": queue})
    return env


def new_compound(name: str, dwellings: int) -> Compound:
    """A compound with a generated roster of about ``dwellings`` dwellings."""
    suffix = uuid.uuid4().hex[:6]
    district = District(name=f"区{suffix}")
    street = Street(district=district, name=f"街道{suffix}")
    community = Community(street=street, name=f"社区{suffix}")
    compound = Compound(community=community, name=name)
    db.session.add(compound)
    db.session.flush()
    buildings = -(-dwellings // DWELLINGS_PER_BUILDING)
    imported = import_roster_file(compound.id, "bench.csv", roster_csv(roster_rows(buildings)))
    assert imported.status.value == "done", imported.report["problems"][:3]
    return compound


# The server ---------------------------------------------------------------------------------


def open_vote_in(compound: Compound, staff: StaffUser) -> Vote:
    """An open vote of the whole compound for the load to cast in (its electorate frozen)."""
    now = utcnow()
    vote = Vote(
        compound_id=compound.id,
        title="压测表决",
        matter=Matter.OTHER,
        rule=Matter.OTHER.rule,
        opens_at=now,
        closes_at=now + timedelta(hours=6),
        created_by_id=staff.id,
    )
    db.session.add(vote)
    db.session.flush()
    open_vote(vote, confirm_unknown_owners=True)
    return vote


def signed_in(app: Flask, owner_ids: list[int]) -> list[str]:
    """A new resident account linked to each of ``owner_ids`` (phones 170…, as a first
    sign-in links them), and its access token, in the owners' order."""
    account_ids = db.session.scalars(
        sa.insert(Account).returning(Account.id, sort_by_parameter_order=True),
        [{"phone": f"170{i:08d}"} for i in range(len(owner_ids))],
    ).all()
    db.session.execute(
        sa.update(Owner),
        [{"id": o, "account_id": a} for o, a in zip(owner_ids, account_ids, strict=True)],
    )
    with app.test_request_context():
        return [issue_tokens(SubjectKind.RESIDENT, a)["access_token"] for a in account_ids]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_services(
    env: dict, port: int, workers: int, threads: int, worker_class: str, worker_log: Path
):
    """gunicorn and one rq worker (its log to ``worker_log``), each in a session of its own
    (stopped with its children)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTICIPATION_")} | env
    venv = Path(sys.executable).parent
    command = [
        str(venv / "gunicorn"),
        "--workers", str(workers),
        "--worker-class", worker_class,
        "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}",
        "--keep-alive", "30",
        "--log-level", "warning",
        "wsgi:app",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    with worker_log.open("w") as log:  # the worker writes to its own copy
        worker = subprocess.Popen(
            [str(venv / "flask"), "--app", "wsgi:app", "worker"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    wait_until_serving(port, server, worker)
    return server, worker


def wait_until_serving(port: int, *processes: subprocess.Popen) -> None:
    """Until gunicorn on ``port`` answers (30 s at most: then ``processes`` are stopped)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    stop(*processes)
    raise SystemExit("gunicorn did not start")


def stop(*processes: subprocess.Popen) -> None:
    """SIGTERM to each process group, then SIGKILL to what is still there after 30 s (the
    rq worker's warm shutdown may outlast the run's backlog of seal jobs). A process group
    already gone (a worker killed on purpose) is skipped."""
    running = []
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
            running.append(process)
    for process in running:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# The load (a separate process) --------------------------------------------------------------


class Client:
    """One HTTP/1.1 connection, non-blocking, kept alive where the server allows (gunicorn's
    sync workers close after each response, so it is reopened). Driven by ``drive``'s one
    selector loop: leaner than threads or asyncio streams, so that the load generator takes
    as little as it can of the 2 cores it shares with the server."""

    __slots__ = ("index", "pending", "received", "sent", "sock", "started")

    def __init__(self, index: int) -> None:
        self.index = index
        self.sock: socket.socket | None = None
        self.pending = b""  # what is still to be sent
        self.received = bytearray()
        self.started = 0.0  # when the request was due (paced) or sent (closed loop)
        self.sent = 0  # requests sent so far

    def response(self) -> tuple[int, bool] | None:
        """(status, server closes) once a whole response has arrived."""
        head_end = self.received.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        lines = self.received[:head_end].decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        length = head_end + 4 + int(fields.get("content-length", "0"))
        if len(self.received) < length:
            return None
        del self.received[:length]
        return int(lines[0].split()[1]), fields.get("connection") == "close"


# A bench's requests: ``request_for(target, plan, host, clients)`` gives the function that
# makes client ``i``'s ``n``th request of ``target`` (bytes, the whole HTTP/1.1 request).
RequestFor = Callable[[str, dict, str, int], Callable[[int, int], bytes]]


def post(line: str, token: str, body: dict, key: bool) -> bytes:
    """A JSON ``POST`` (``line``: its request line and Host header) as ``token``'s bearer,
    with a fresh Idempotency-Key if ``key``."""
    text = json.dumps(body)
    head = (
        f"{line}Authorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(text.encode())}\r\n"
    )
    if key:
        head += f"Idempotency-Key: {uuid.uuid4().hex}\r\n"
    return f"{head}\r\n{text}".encode()


def drive(args, request_for: RequestFor) -> None:
    """Run one phase and print its figures as JSON."""
    plan = json.loads(Path(args.plan).read_text())
    clients, duration, rate = args.clients, args.duration, args.rate
    address = ("127.0.0.1", args.port)
    host = f"Host: 127.0.0.1:{args.port}\r\n"
    if args.target == "trivial":  # three queries, no sign-in
        compound = plan["trivial_compound"]
        trivial = f"GET /api/v1/public/compounds/{compound} HTTP/1.1\r\n{host}\r\n".encode()
        make_request = lambda i, n: trivial  # noqa: E731
    else:
        make_request = request_for(args.target, plan, host, clients)

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    missed = 0
    interval = clients / rate if rate else 0.0
    selector = selectors.DefaultSelector()
    cpu_before = time.process_time()  # the phase's own, not this process's start-up
    started = time.perf_counter()
    stop_at = started + duration
    # Paced: each client's next due time; closed loop: every client starts at once.
    due = [(started + random.random() * interval, i) for i in range(clients)]
    heapq.heapify(due)
    conns = [Client(i) for i in range(clients)]

    def send(conn: Client, when: float) -> None:
        conn.started = when
        conn.pending = make_request(conn.index, conn.sent)
        conn.sent += 1
        if conn.sock is None:
            conn.sock = socket.socket()
            conn.sock.setblocking(False)
            conn.sock.connect_ex(address)
        selector.register(conn.sock, selectors.EVENT_WRITE, conn)

    def close(conn: Client, watched: bool = True) -> None:
        if watched:
            selector.unregister(conn.sock)
        conn.sock.close()
        conn.sock = None
        conn.received.clear()

    active = clients
    while True:
        now = time.perf_counter()
        while due and due[0][0] <= now:  # requests falling due
            when, i = heapq.heappop(due)
            if now >= stop_at:  # paced: what fell due and was not sent by then is missed
                missed += max(0, math.ceil((stop_at - when) / interval)) if rate else 0
                active -= 1
                if conns[i].sock is not None:
                    close(conns[i], watched=False)
                continue
            send(conns[i], when if rate else now)
        if not active:
            break
        timeout = max(0.0, due[0][0] - now) if due else None
        for key, events in selector.select(timeout):
            conn: Client = key.data
            if events & selectors.EVENT_WRITE:
                try:
                    conn.pending = conn.pending[conn.sock.send(conn.pending) :]
                except BlockingIOError:
                    continue
                if not conn.pending:
                    selector.modify(conn.sock, selectors.EVENT_READ, conn)
                continue
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise SystemExit("the server closed a connection before answering")
            conn.received += chunk
            answer = conn.response()
            if answer is None:
                continue
            status, server_closes = answer
            now = time.perf_counter()
            latencies.append(now - conn.started)
            statuses[status] = statuses.get(status, 0) + 1
            if server_closes:
                close(conn)
            else:  # kept alive, unwatched until the next request
                selector.unregister(conn.sock)
            # the next request: at its due time (paced) or at once (closed loop)
            heapq.heappush(due, (conn.started + interval if rate else now, conn.index))

    elapsed = time.perf_counter() - started
    merged = sorted(latencies)
    print(
        json.dumps(
            {
                "requests": len(merged),
                "per_second": len(merged) / elapsed,
                "p50_ms": 1000 * merged[len(merged) // 2],
                "p99_ms": 1000 * merged[min(len(merged) - 1, int(len(merged) * 0.99))],
                "p999_ms": 1000 * merged[min(len(merged) - 1, int(len(merged) * 0.999))],
                "max_ms": 1000 * merged[-1],
                "statuses": statuses,
                "missed": missed,
                "client_cpu_s": time.process_time() - cpu_before,
            }
        )
    )


# Running ------------------------------------------------------------------------------------


def machine_times() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])  # up to steal; guest time is already counted in user
    return (total - idle) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


@dataclass
class Bench:
    args: argparse.Namespace
    url: str
    port: int
    script: str  # the bench script, run with --drive for the load
    plan: Path  # what the load generator needs (tokens, ids), JSON
    server: subprocess.Popen
    worker: subprocess.Popen

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of gunicorn (master and workers), the rq worker (and the job it
        forks) and the database's backends."""
        parsed = make_url(self.url)
        engine = sa.create_engine(parsed.set(database="postgres"), poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            backends = conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                {"name": parsed.database},
            ).scalars()
            backends = list(backends)
        engine.dispose()
        return {
            "app": _cpu(_tree(self.server.pid)),
            "worker": _cpu(_tree(self.worker.pid)),
            "db": _cpu(backends),
        }

    def stop(self) -> None:
        """Stop gunicorn and the worker (the worker first finishes the jobs it holds)."""
        if self.server.poll() is None or self.worker.poll() is None:
            stop(self.server, self.worker)

    def start_profiler(self, duration: float, output: str) -> subprocess.Popen:
        """py-spy sampling gunicorn's workers while they hold the GIL, for ``duration``
        seconds: collapsed stacks to ``output``."""
        command = [str(Path(sys.executable).parent / "py-spy"), "record"]
        command += ["--pid", str(self.server.pid), "--subprocesses", "--gil", "--rate", "250"]
        command += ["--format", "raw", "--duration", str(int(duration)), "--output", output]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def phase(
        self,
        label: str,
        target: str,
        duration: float,
        rate: float = 0,
        profile: str | None = None,
    ) -> dict:
        """Run a phase of ``target`` requests and print its figures under ``label`` (none:
        a warm-up). ``profile``: where py-spy writes what gunicorn did meanwhile."""
        command = [sys.executable, self.script, "--drive", "--target", target]
        command += ["--port", str(self.port), "--plan", str(self.plan)]
        command += ["--clients", str(self.args.clients)]
        command += ["--duration", str(duration), "--rate", str(rate)]
        spy = self.start_profiler(duration, profile) if profile else None
        before, machine_before = self.cpu_seconds(), machine_times()
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        after, machine_after = self.cpu_seconds(), machine_times()
        if spy:
            spy.wait()
        figures = json.loads(out)
        n = figures["requests"]
        cpu = {k: 1000 * (after[k] - before[k]) / n for k in after}
        cpu["client"] = 1000 * figures["client_cpu_s"] / n
        figures["cpu_ms"] = cpu
        busy = machine_after[0] - machine_before[0]
        ours = sum(after[k] - before[k] for k in after) + figures["client_cpu_s"]
        figures["machine_busy"] = busy / (machine_after[1] - machine_before[1])
        figures["other_busy"] = max(0.0, busy - ours) / (machine_after[1] - machine_before[1])
        figures["load_average"] = os.getloadavg()[0]
        if label:
            print(
                f"  {label:<42} {figures['per_second']:6.0f}/s  p50 {figures['p50_ms']:6.1f} ms"
                f"  p99 {figures['p99_ms']:6.1f} ms  {figures['statuses']}"
                + (f", {figures['missed']} due but not sent" if figures["missed"] else "")
                + "\n"
                f"  {'':<42} CPU per request: gunicorn {cpu['app']:.2f} ms, rq worker "
                f"{cpu['worker']:.2f} ms, PostgreSQL {cpu['db']:.2f} ms, "
                f"load generator {cpu['client']:.2f} ms"
            )
        return figures

    def warm_up(self, targets: tuple[str, ...], duration: float) -> None:
        """Each target for ``duration`` seconds, unmeasured, then ANALYZE: every worker warm,
        and the planner's statistics of tables that had no rows at the set-up's ANALYZE
        (ballots, responses, answers), as autovacuum's analyze has them within a minute of
        the first writes in production. Analyzed empty, a table is planned as empty: the
        foreign keys' checks, whose plans each connection keeps, scan it sequentially."""
        for target in targets:
            self.phase("", target, duration=duration)
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()

    def paced_runs(self, label: str, target: str, runs: int) -> list[dict]:
        """``runs`` paced phases in a row, each printed on one line with its spread and the
        machine's load while it ran (busy: both cores' busy time; other: not this bench's)."""
        print(f"  {label}, paced {self.args.rate:g}/s, {runs} runs of {self.args.duration:g} s:")
        results = []
        for run in range(1, runs + 1):
            f = self.phase("", target, self.args.duration, self.args.rate)
            missed = f", {f['missed']} due but not sent" if f["missed"] else ""
            print(
                f"    run {run}: {f['per_second']:4.0f}/s  p50 {f['p50_ms']:5.1f}  "
                f"p99 {f['p99_ms']:5.1f}  p99.9 {f['p999_ms']:6.1f}  worst {f['max_ms']:6.1f} ms"
                f"  {f['statuses']}{missed}  | machine {100 * f['machine_busy']:3.0f} % busy "
                f"({100 * f['other_busy']:2.0f} % other), load average {f['load_average']:.2f}"
            )
            results.append(f)
        return results


def server_cpu_ms(figures: dict) -> float:
    """Server CPU per request: gunicorn, the rq worker and PostgreSQL."""
    cpu = figures["cpu_ms"]
    return cpu["app"] + cpu["worker"] + cpu["db"]


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            pids += _tree(int(child))
    return pids


def _cpu(pids: list[int]) -> float:
    """CPU seconds of ``pids``, with their children that have ended (rq's work horses)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"


def parser(description: str, rate: str) -> argparse.ArgumentParser:
    """The options every HTTP bench takes (``rate``: what the paced phases send)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--owners", type=int, default=20_000)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="per gthread worker")
    parser.add_argument(
        "--worker-class",
        choices=("sync", "gthread"),
        default="sync",
        help="sync: a request at a time per worker, no keep-alive; gthread: threads, keep-alive",
    )
    parser.add_argument("--rate", type=float, default=600, help=f"{rate}/s of the paced phases")
    parser.add_argument("--runs", type=int, default=1, help="paced phases in a row")
    parser.add_argument("--profile", metavar="FILE", help="py-spy's stacks of gunicorn")
    for hidden in ("--port", "--plan", "--target"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    return parser


@contextmanager
def benchmark(args, script: str, default_url: str, name: str, setup) -> Iterator[tuple]:
    """The bench's own database (BENCH_DATABASE_URL, else ``default_url``; created afresh),
    ``setup(app, plan)`` filling it and writing the load generator's plan, then gunicorn and
    the rq worker on a queue of this run's own (BENCH_REDIS_URL). Yields (``Bench``, what
    ``setup`` returned) inside the app's context; afterwards the services are stopped, the
    database dropped and the queue's keys removed."""
    url = os.environ.get("BENCH_DATABASE_URL", default_url)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL")
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    redis = Redis.from_url(redis_url)
    redis.ping()
    queue = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    env = settings(url, redis_url, queue)
    os.environ.update(settings(url))  # this process writes the set-up, no jobs
    fresh_database(url)
    try:
        app = create_app({"REDIS_URL": None})
        with app.app_context(), tempfile.TemporaryDirectory() as tmp:
            db.create_all()
            plan = Path(tmp) / "plan.json"
            prepared = setup(app, plan)
            db.engine.dispose()
            port = free_port()
            server, worker = start_services(
                env, port, args.workers, args.threads, args.worker_class, Path(tmp) / "worker.log"
            )
            kind = f"gthread × {args.threads} threads" if args.worker_class == "gthread" else "sync"
            print(
                f"gunicorn: {args.workers} {kind} workers on 127.0.0.1:{port}, one rq worker; "
                f"{args.clients} clients; {os.cpu_count()} CPUs; {args.duration:g} s per phase"
            )
            bench = Bench(args, url, port, script, plan, server, worker)
            try:
                yield bench, prepared
            finally:
                bench.stop()
    finally:
        fresh_database(url, drop_only=True)
        for key in redis.scan_iter(f"*{queue}*"):
            redis.delete(key)
