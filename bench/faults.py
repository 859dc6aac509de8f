"""Faults benchmark: casts at a steady pace while a worker is killed, the database drops the
app's connections and Redis goes away — no ballot lost, no 5xx, every event sealed after.

    .venv/bin/python bench/faults.py [--owners 6000] [--rate 300] [--clients 64]
                                     [--duration 60] [--workers 3]

The production set-up on loopback, as in ``bench/cast_ballots.py`` (whose set-up it reuses):
its own PostgreSQL database (BENCH_DATABASE_URL, default ``…/participation_bench_faults``,
dropped at the end), Redis (BENCH_REDIS_URL, default db 11) reached through a small TCP proxy
run by this script (so that Redis can be made unreachable without touching the server), a
queue of this run's own, gunicorn and two ``flask worker`` processes. ``--clients`` threads
cast at ``--rate`` per second in total for ``--duration`` seconds, each cast another owner,
a random choice, with an Idempotency-Key. Meanwhile:

(a) at 10 s one worker is SIGKILLed (with its process group) — not restarted;
(b) at 25 s every database connection of the app and the worker is terminated
    (``pg_terminate_backend``);
(c) at 40 s Redis becomes unreachable for 10 s (the proxy closes every connection and stops
    listening).

Then it waits for the sealing to catch up and checks that every cast answered 201 has its
event and counts as its person's ballot when it was their last, that every event of the vote
is sealed once and that ``flask votes verify`` is OK. It prints the answers and 5xx of each
fault's window (from the fault to the next one), the time to recover (the last non-2xx
answer after the fault; for Redis also the time from its return until every event was
sealed). It is not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from redis import Redis
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cast_ballots import setup
from loadgen import free_port, fresh_database, settings, stop, wait_until_serving

from participation import create_app
from participation.extensions import db

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench_faults"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
APP_NAME = "participation-bench-faults"
CHOICES = ("agree", "disagree", "abstain")


class RedisProxy:
    """A TCP proxy in front of Redis that can be made unreachable: ``down()`` closes the
    listener and every connection (clients get refused), ``up()`` listens again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self.listener = self.listener, None
        listener.close()
        with self.lock:
            for conn in self.conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self.conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for conn in (source, sink):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def start_processes(env: dict, port: int, workers: int, logs: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTICIPATION_")} | env
    venv = Path(sys.executable).parent
    server = subprocess.Popen(
        [str(venv / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    rq_workers = []
    command = [str(venv / "flask"), "--app", "wsgi:app", "worker"]
    for i in range(2):
        with (logs / f"worker-{i}.log").open("w") as log:
            worker = subprocess.Popen(
                command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log
            )
            rq_workers.append(worker)
    wait_until_serving(port, server, *rq_workers)
    return server, rq_workers


def cast_load(port, vote_id, tokens, clients, rate, duration, started):
    """``clients`` threads casting at ``rate``/s in total; returns every answer as
    (sent, seconds since ``started``; status; token index; receipt or None; seconds taken)."""
    answers = []
    lock = threading.Lock()
    interval = clients / rate
    stop_at = started + duration

    def client(i: int) -> None:
        n = 0
        due = started + random.random() * interval
        while due < stop_at:
            time.sleep(max(0.0, due - time.monotonic()))
            token = (n * clients + i) % len(tokens)
            key = uuid.uuid4().hex
            body = json.dumps({"choice": random.choice(CHOICES)})
            headers = {
                "Authorization": f"Bearer {tokens[token]}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            }
            receipt, status, sent = None, 0, time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", f"/api/v1/votes/{vote_id}/ballots", body, headers)
                response = conn.getresponse()
                status, payload = response.status, response.read()
                conn.close()
                if status in (200, 201):
                    receipt = json.loads(payload)["receipt"]
            except OSError:
                pass
            with lock:
                answers.append((sent - started, status, token, receipt, time.monotonic() - sent))
            n += 1
            due += interval

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=6000)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = make_url(os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    redis = Redis.from_url(redis_url.render_as_string(hide_password=False))
    redis.ping()
    proxy = RedisProxy((redis_url.host or "127.0.0.1", redis_url.port or 6379))
    proxied = redis_url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    queue = f"bench-faults-{uuid.uuid4().hex[:8]}"
    app_url = make_url(url).update_query_dict({"application_name": APP_NAME})
    env = settings(app_url.render_as_string(hide_password=False), proxied, queue)
    env |= {"PARTICIPATION_JOB_HEARTBEAT_SECONDS": "2", "PARTICIPATION_WORKER_SWEEP_SECONDS": "5"}
    os.environ.update(settings(url))
    fresh_database(url)
    admin = sa.create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    processes = []
    try:
        app = create_app({"REDIS_URL": None})
        with app.app_context(), tempfile.TemporaryDirectory() as tmp:
            db.create_all()
            tokens_file = Path(tmp) / "tokens.json"
            setup(app, args.owners, tokens_file)
            data = json.loads(tokens_file.read_text())
            vote_id, tokens = data["vote_id"], data["tokens"]
            db.engine.dispose()
            port = free_port()
            server, workers = start_processes(env, port, args.workers, Path(tmp))
            processes = [server, *workers]
            print(
                f"gunicorn: {args.workers} sync workers, 2 rq workers, Redis through a proxy; "
                f"{args.clients} clients casting {args.rate:g}/s for {args.duration:g} s"
            )
            started = time.monotonic()
            faults: dict[str, float] = {}
            unsealed: list[tuple[float, int]] = []
            done = threading.Event()

            watcher = sa.create_engine(url, poolclass=sa.pool.NullPool)

            def pending() -> int:
                with watcher.connect() as conn:
                    return conn.execute(sa.text("SELECT count(*) FROM vote_unsealed")).scalar()

            def monitor() -> None:
                while not done.wait(0.5):
                    unsealed.append((time.monotonic() - started, pending()))

            def inject() -> None:
                time.sleep(10)
                faults["worker killed"] = time.monotonic() - started
                os.killpg(workers[0].pid, signal.SIGKILL)
                time.sleep(15)
                faults["database connections dropped"] = time.monotonic() - started
                with admin.connect() as conn:
                    dropped = conn.execute(
                        sa.text(
                            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                            "FROM pg_stat_activity WHERE application_name = :name"
                        ),
                        {"name": APP_NAME},
                    ).scalar()
                print(f"  terminated {dropped} database connections of the app and worker")
                time.sleep(15)
                faults["Redis unreachable 10 s"] = time.monotonic() - started
                proxy.down()
                time.sleep(10)
                proxy.up()
                faults["Redis back"] = time.monotonic() - started

            threading.Thread(target=monitor, daemon=True).start()
            injector = threading.Thread(target=inject)
            injector.start()
            answers = cast_load(
                port, vote_id, tokens, args.clients, args.rate, args.duration, started
            )
            injector.join()
            load_ended = time.monotonic() - started
            sealed_at = None
            while time.monotonic() - started < load_ended + 120:
                if pending() == 0:
                    sealed_at = time.monotonic() - started
                    break
                time.sleep(0.5)
            done.set()

            statuses = Counter(status for _, status, *_ in answers)
            print(f"  {len(answers)} casts answered: {dict(sorted(statuses.items()))}")
            windows = [(n, t) for n, t in faults.items() if n != "Redis back"]
            bounds = [t for _, t in windows[1:]] + [load_ended]
            for (name, at), until in zip(windows, bounds, strict=True):
                window = [a for a in answers if at <= a[0] < until]
                bad = [a for a in window if a[1] >= 500 or a[1] == 0]
                recover = (bad[-1][0] - at) if bad else 0.0
                taken = sorted(a[4] for a in window) or [0.0]
                print(
                    f"  {name:<30} at {at:5.1f} s: {len(window):5} casts, "
                    f"{sum(1 for a in window if a[1] >= 500):3} 5xx, "
                    f"{sum(1 for a in window if a[1] == 0)} no answer, p50 "
                    f"{1000 * taken[len(taken) // 2]:.0f} ms, p99 "
                    f"{1000 * taken[int(len(taken) * 0.99)]:.0f} ms; "
                    f"last failure {recover:.1f} s after it"
                )
            if sealed_at is not None:
                print(
                    f"  every event sealed {sealed_at - faults['Redis back']:.1f} s after Redis "
                    f"came back ({sealed_at - load_ended:.1f} s after the load ended)"
                )
            else:
                print("  NOT every event sealed 120 s after the load ended")
            peak = max(unsealed, key=lambda s: s[1], default=(0, 0))
            print(f"  most events waiting for sealing: {peak[1]} at {peak[0]:.1f} s")
            watcher.dispose()

            # every 201 has its event; the last answered cast of a person is their ballot
            with db.engine.connect() as conn:
                events = dict(
                    conn.execute(
                        sa.text(
                            "SELECT receipt, count(*) FROM vote_events "
                            "WHERE vote_id = :v AND kind = 'cast' GROUP BY receipt"
                        ),
                        {"v": vote_id},
                    ).all()
                )
                chain = conn.execute(
                    sa.text(
                        "SELECT count(*), count(DISTINCT event_id) FROM vote_chain "
                        "WHERE vote_id = :v"
                    ),
                    {"v": vote_id},
                ).one()
                total_events = conn.execute(
                    sa.text("SELECT count(*) FROM vote_events WHERE vote_id = :v"), {"v": vote_id}
                ).scalar()
            created = [a for a in answers if a[1] == 201]
            lost = [a for a in created if events.get(a[3]) != 1]
            print(
                f"  {len(created)} casts answered 201: {len(lost)} without exactly one event "
                f"(lost ballots); chain {chain[0]} entries for {chain[1]} events of "
                f"{total_events} ({'each sealed once' if chain[0] == chain[1] else 'DUPLICATES'})"
            )
            verify = subprocess.run(
                [str(Path(sys.executable).parent / "flask"), "--app", "wsgi:app", "votes",
                 "verify", str(vote_id)],
                cwd=ROOT, env=os.environ | env, capture_output=True, text=True,
            )  # fmt: skip
            print(f"  flask votes verify: {verify.stdout.strip().splitlines()[-1]}")
            for process in processes:
                stop(process)
    finally:
        for process in processes:
            if process.poll() is None:
                stop(process)
        fresh_database(url, drop_only=True)
        admin.dispose()
        for key in redis.scan_iter(f"*{queue}*"):
            redis.delete(key)


if __name__ == "__main__":
    main()
