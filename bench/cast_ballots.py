"""Cast benchmark: owners casting through gunicorn against PostgreSQL, and a trivial endpoint of
the same app for comparison.

    .venv/bin/python bench/cast_ballots.py [--owners 20000] [--duration 20] [--clients 64]
                                           [--workers 4] [--threads 2] [--rate 600]

The production set-up on loopback: its own PostgreSQL database (BENCH_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_cast; dropped and created
afresh, dropped at the end), Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/11, on a
queue of this run's own), gunicorn from the venv on a free port and one rq worker (``flask
worker``) sealing the record, configured through PARTICIPATION_* variables. Tables by
``db.create_all()``; a compound of about ``--owners`` dwellings (generated roster, imported), an
open whole-compound vote, one signed-in account and access token per person, and a
one-building compound for the trivial endpoint. A separate process drives the load:
``--clients`` clients on one selector loop, each with its own connection (kept alive where the
server allows), ``--duration`` seconds per phase:

1. casts, closed loop (each client sends its next request when the last one is answered):
   the most the server does; every request another owner, a random choice, one in four with
   an Idempotency-Key;
2. ``GET /api/v1/public/compounds/<small>`` (three queries, no sign-in), closed loop;
3. casts paced at ``--rate`` per second in total (open loop; latency counted from the time a
   request was due, so a server that falls behind is not flattered).

Prints requests/s, p50 and p99 of each phase, the ratio casts/s ÷ trivial/s, and the CPU time
per request of gunicorn, the sealing worker, PostgreSQL's backends and the load generator
(read from /proc: on a shared machine, the figure that other load does not distort). Target on
2 cores: ≥ 600 casts/s with p99 < 100 ms at 64 clients. It is not a test.
"""

from __future__ import annotations

import argparse
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
from participation.votes.models import Matter, Vote, VotePersonOwner
from participation.votes.services import open_vote

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_cast"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
SECRET = "bench-secret-key-not-for-production-0123456789"
CHOICES = ("agree", "disagree", "abstain")
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


def setup(app: Flask, owners: int, tokens_file: Path) -> tuple[int, int]:
    """Roster, open vote and tokens (to ``tokens_file``); returns (persons, small compound id)."""
    started = time.perf_counter()
    compound = new_compound("压测小区", owners)
    small = new_compound("对照小区", 1)

    staff = StaffUser(username="bench", password_hash="-", display_name="压测")
    db.session.add(staff)
    db.session.flush()
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

    # One account per person (its lowest owner), signed in.
    owner_of_person = dict(
        db.session.execute(
            sa.select(VotePersonOwner.person_id, sa.func.min(VotePersonOwner.owner_id))
            .where(VotePersonOwner.vote_id == vote.id)
            .group_by(VotePersonOwner.person_id)
        ).all()
    )
    owner_ids = sorted(owner_of_person.values())
    account_ids = db.session.scalars(
        sa.insert(Account).returning(Account.id, sort_by_parameter_order=True),
        [{"phone": f"170{i:08d}"} for i in range(len(owner_ids))],
    ).all()
    db.session.execute(
        sa.update(Owner),
        [{"id": o, "account_id": a} for o, a in zip(owner_ids, account_ids, strict=True)],
    )
    with app.test_request_context():
        tokens = [issue_tokens(SubjectKind.RESIDENT, a)["access_token"] for a in account_ids]
    tokens_file.write_text(json.dumps({"vote_id": vote.id, "tokens": tokens}))
    print(
        f"set up {vote.t_cnt:,} persons ({len(tokens):,} owners signed in) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    small_id = small.id
    db.session.commit()
    db.session.close()  # no connection of this process stays open while the load runs
    return len(tokens), small_id


# The server ---------------------------------------------------------------------------------


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
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return server, worker
        except OSError:
            time.sleep(0.2)
    stop(server, worker)
    raise SystemExit("gunicorn did not start")


def stop(*processes: subprocess.Popen) -> None:
    """SIGTERM to each process group, then SIGKILL to what is still there after 30 s (the
    rq worker's warm shutdown may outlast the run's backlog of seal jobs)."""
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
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


def drive(args) -> None:
    """Run one phase and print its figures as JSON."""
    data = json.loads(Path(args.tokens).read_text())
    tokens, vote_id = data["tokens"], data["vote_id"]
    clients, duration, rate = args.clients, args.duration, args.rate
    address = ("127.0.0.1", args.port)
    host = f"Host: 127.0.0.1:{args.port}\r\n"
    trivial = f"GET /api/v1/public/compounds/{args.compound} HTTP/1.1\r\n{host}\r\n".encode()
    cast_line = f"POST /api/v1/votes/{vote_id}/ballots HTTP/1.1\r\n{host}"

    def cast_request(i: int, n: int) -> bytes:
        body = json.dumps({"choice": random.choice(CHOICES)})
        head = (
            f"{cast_line}Authorization: Bearer {tokens[(n * clients + i) % len(tokens)]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        )
        if n % 4 == 0:
            head += f"Idempotency-Key: {uuid.uuid4().hex}\r\n"
        return f"{head}\r\n{body}".encode()

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
        conn.pending = trivial if args.target == "trivial" else cast_request(conn.index, conn.sent)
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
                "statuses": statuses,
                "missed": missed,
                "client_cpu_s": time.process_time() - cpu_before,
            }
        )
    )


# Running ------------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    url: str
    port: int
    tokens: Path
    small_compound: int
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

    def start_profiler(self, duration: float) -> subprocess.Popen:
        """py-spy sampling gunicorn's workers for the phase (collapsed stacks to --profile)."""
        spy = str(Path(sys.executable).parent / "py-spy")
        command = [spy, "record", "--pid", str(self.server.pid)]
        command += ["--subprocesses", "--gil", "--rate", "250", "--format", "raw"]
        command += ["--duration", str(int(duration)), "--output", self.args.profile]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def phase(self, label: str, target: str, duration: float, rate: float = 0) -> dict:
        command = [sys.executable, __file__, "--drive", "--target", target]
        command += ["--port", str(self.port), "--tokens", str(self.tokens)]
        command += ["--compound", str(self.small_compound), "--clients", str(self.args.clients)]
        command += ["--duration", str(duration), "--rate", str(rate)]
        profiled = label and self.args.profile and target == "casts"
        spy = self.start_profiler(duration) if profiled else None
        before = self.cpu_seconds()
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        after = self.cpu_seconds()
        if spy:
            spy.wait()
            self.args.profile = None  # the first (closed loop) cast phase only
        figures = json.loads(out)
        n = figures["requests"]
        cpu = {k: 1000 * (after[k] - before[k]) / n for k in after}
        cpu["client"] = 1000 * figures["client_cpu_s"] / n
        figures["cpu_ms"] = cpu
        if label:
            print(
                f"  {label:<42} {figures['per_second']:6.0f}/s  p50 {figures['p50_ms']:6.1f} ms"
                f"  p99 {figures['p99_ms']:6.1f} ms  {figures['statuses']}"
                + (f", {figures['missed']} due but not sent" if figures["missed"] else "")
                + "\n"
                f"  {'':<42} CPU per request: gunicorn {cpu['app']:.2f} ms, sealing worker "
                f"{cpu['worker']:.2f} ms, PostgreSQL {cpu['db']:.2f} ms, "
                f"load generator {cpu['client']:.2f} ms"
            )
        return figures


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    parser.add_argument("--rate", type=float, default=600, help="casts/s of the paced phase")
    parser.add_argument("--profile", metavar="FILE", help="py-spy's collapsed stacks of the casts")
    for hidden in ("--port", "--tokens", "--compound", "--target"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        args.port = int(args.port)
        drive(args)
        return

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL")
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    redis = Redis.from_url(redis_url)
    redis.ping()
    queue = f"bench-cast-{uuid.uuid4().hex[:8]}"
    env = settings(url, redis_url, queue)
    os.environ.update(settings(url))  # this process writes the set-up, no jobs
    fresh_database(url)
    try:
        app = create_app({"REDIS_URL": None})
        with app.app_context(), tempfile.TemporaryDirectory() as tmp:
            db.create_all()
            tokens = Path(tmp) / "tokens.json"
            persons, small = setup(app, args.owners, tokens)
            db.engine.dispose()
            port = free_port()
            server, worker = start_services(
                env, port, args.workers, args.threads, args.worker_class, Path(tmp) / "worker.log"
            )
            bench = Bench(args, url, port, tokens, small, server, worker)
            kind = f"gthread × {args.threads} threads" if args.worker_class == "gthread" else "sync"
            print(
                f"gunicorn: {args.workers} {kind} workers on 127.0.0.1:{port}, one rq worker; "
                f"{args.clients} clients; {os.cpu_count()} CPUs; {args.duration:g} s per phase"
            )
            try:
                for target in ("casts", "trivial"):  # warm every worker up
                    bench.phase("", target, duration=3)
                casts = bench.phase("POST /votes/<id>/ballots, closed loop", "casts", args.duration)
                trivial = bench.phase(
                    "GET /public/compounds/<id>, closed loop", "trivial", args.duration
                )
                bench.phase(
                    f"POST /votes/<id>/ballots, paced {args.rate:g}/s",
                    "casts",
                    args.duration,
                    args.rate,
                )
            finally:
                stop(server, worker)
            counted = db.session.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM vote_events WHERE kind = 'cast'), "
                    "(SELECT count(*) FROM vote_ballots), (SELECT count(*) FROM vote_chain)"
                )
            ).one()
        print(f"  ratio casts/s ÷ trivial/s: {casts['per_second'] / trivial['per_second']:.2f}")
        cpu = casts["cpu_ms"]
        server_ms = cpu["app"] + cpu["worker"] + cpu["db"]
        print(
            f"  server CPU per cast {server_ms:.2f} ms: at most {2000 / server_ms:.0f} casts/s "
            "on 2 cores with nothing else running"
        )
        print(
            f"  recorded {counted[0]:,} casts, {counted[1]:,} counting ballots "
            f"(of {persons:,} persons), {counted[2]:,} events sealed"
        )
    finally:
        fresh_database(url, drop_only=True)
        for key in redis.scan_iter(f"*{queue}*"):
            redis.delete(key)


if __name__ == "__main__":
    main()
