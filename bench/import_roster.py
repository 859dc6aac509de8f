"""Roster import benchmark: a generated roster of 10,000 dwellings.

    .venv/bin/python bench/import_roster.py [--dwellings 10000]

Imports the file into an empty compound, imports it again (nothing changes), then imports
it into another empty compound under tracemalloc for the peak memory. Runs on a temporary
SQLite file (the embedded default) and, when reachable, on PostgreSQL: BENCH_DATABASE_URL,
default postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench, a database this
script creates and drops. Each database is measured in its own process (one app per
process). Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from participation import create_app
from participation.extensions import db
from participation.roster.importer import REQUIRED_COLUMNS, import_roster_file
from participation.roster.models import Community, Compound, District, Street

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/participation_bench"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红梅玉德春生淑珍海燕文永"
REGIONS = ("510902", "510903", "510921", "110105", "310104", "440106")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# The roster file ----------------------------------------------------------------------------


class People:
    """Invented owners: unique ID numbers with valid check characters, mobile numbers."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def id_number(self) -> str:
        while True:
            born = date(1935, 1, 1) + timedelta(days=self.rng.randrange(365 * 70))
            first17 = f"{self.rng.choice(REGIONS)}{born:%Y%m%d}{self.rng.randrange(1000):03d}"
            total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
            number = first17 + "10X98765432"[total % 11]
            if number not in self.used:
                self.used.add(number)
                return number

    def person(self) -> tuple[str, str, str]:
        name = self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2)))
        )
        phone = self.rng.choice(("13", "15", "17", "18", "19")) + f"{self.rng.randrange(10**9):09d}"
        return name, phone, self.id_number()


def roster_csv(dwellings: int, seed: int = 2024) -> bytes:
    """Buildings of 3 entrances × 18 floors × 2 rooms; 2% developer dwellings, 8% with two
    co-owners, 4% bought by someone who already has a dwelling here."""
    rng = random.Random(seed)
    people = People(rng)
    buyers: list[tuple[str, str, str]] = []
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REQUIRED_COLUMNS)
    for index in range(dwellings):
        building, rest = divmod(index, 108)
        entrance, rest = divmod(rest, 36)
        floor, room = divmod(rest, 2)
        area = f"{rng.uniform(45, 140):.2f}"
        source = rng.choices(("登记", "实测", "合同"), weights=(90, 7, 3))[0]
        place = [f"{building + 1}栋", f"{entrance + 1}单元", floor + 1, f"{floor + 1}0{room + 1}"]
        draw = rng.random()
        if draw < 0.02:
            status, owners = rng.choice(("未售", "已售未交付")), []
        elif draw < 0.06 and buyers:
            status, owners = "已售", [rng.choice(buyers)]
        else:
            status = "已售"
            owners = [people.person() for _ in range(2 if draw > 0.92 else 1)]
            buyers.extend(owners[:1])
        owner_cells = ["、".join(column) for column in zip(*owners, strict=True)] or ["", "", ""]
        writer.writerow([*place, area, source, status, *owner_cells])
    return out.getvalue().encode("utf-8")


# Running ------------------------------------------------------------------------------------


def new_compound() -> int:
    suffix = uuid.uuid4().hex[:6]
    district = District(name=f"区{suffix}")
    street = Street(district=district, name=f"街道{suffix}")
    community = Community(street=street, name=f"社区{suffix}")
    compound = Compound(community=community, name=f"小区{suffix}")
    db.session.add(compound)
    db.session.commit()
    return compound.id


def timed_import(compound_id: int, content: bytes) -> tuple[float, dict]:
    started = time.perf_counter()
    roster_import = import_roster_file(compound_id, "bench.csv", content)
    db.session.commit()
    elapsed = time.perf_counter() - started
    problems = roster_import.report["problems"]
    if problems:
        raise SystemExit(f"the generated roster was rejected: {problems[:3]}")
    return elapsed, roster_import.report["summary"]


def bench(label: str, url: str, rows: int) -> None:
    content = roster_csv(rows)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": None,
            "ID_HASH_KEY": "bench-id-hash-key",
        }
    )
    with app.app_context():
        db.create_all()
        compound_id = new_compound()
        first, summary = timed_import(compound_id, content)
        again, unchanged = timed_import(compound_id, content)
        assert unchanged["dwellings_unchanged"] == rows, unchanged
        tracemalloc.start()
        timed_import(new_compound(), content)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        db.engine.dispose()
    print(f"\n{label}")
    print(
        f"  first import   {first:6.2f} s  {rows / first:8.0f} rows/s  "
        f"({summary['dwellings_created']} dwellings, {summary['owners_created']} owners)"
    )
    print(f"  re-import      {again:6.2f} s  {rows / again:8.0f} rows/s  (no changes)")
    print(f"  peak Python memory during an import: {peak / 2**20:.1f} MiB (tracemalloc)")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory of the process: {peak_rss:.0f} MiB")


def postgres_database(url: str) -> str | None:
    """Create a fresh database named in ``url``; None if PostgreSQL is not reachable."""
    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    except sa.exc.OperationalError as exc:
        print(f"\nPostgreSQL ({parsed.render_as_string()}) not reachable, skipped: {exc}")
        return None
    finally:
        admin.dispose()
    return parsed.render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dwellings", type=int, default=10_000)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # a fixed key: the embedded default would otherwise create instance/secret_key
    os.environ.setdefault("PARTICIPATION_SECRET_KEY", "bench-secret-key-not-for-production")
    if args.database_url:
        bench(args.label, args.database_url, args.dwellings)
        return

    started = time.perf_counter()
    size = len(roster_csv(args.dwellings))
    print(
        f"generated {args.dwellings} dwellings ({size / 2**20:.1f} MiB CSV) "
        f"in {time.perf_counter() - started:.2f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite (embedded default)", f"sqlite:///{tmp}/bench.sqlite3", args.dwellings)
    url = postgres_database(os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES))
    if url:
        try:
            measure("PostgreSQL", url, args.dwellings)
        finally:
            drop_postgres_database(url)


def measure(label: str, url: str, rows: int) -> None:
    """Run :func:`bench` in a fresh process."""
    command = [sys.executable, __file__, "--dwellings", str(rows), "--label", label]
    subprocess.run([*command, "--database-url", url], check=True)


if __name__ == "__main__":
    main()
