"""Poster benchmark: the batch of posters for a district of 500 compounds.

    .venv/bin/python bench/posters.py [--compounds 500]

Makes a district (5 streets, 10 communities each, compounds spread over them, long and short
names) in a temporary SQLite database, then runs the batch job (``notices.tasks.build_batch``,
as the worker or the inline default runs it): a link per compound, an A4 PDF poster each,
one .zip. Prints the wall time, the CPU time, the time per poster and the file's size, then
renders one poster to PNG and PDF separately for the parts. Target: 500 posters in under 60 s
on 2 cores. Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from participation import create_app
from participation.extensions import db
from participation.notices import posters, tasks
from participation.notices.models import PosterBatch
from participation.roster.models import Community, Compound, District, Street

NAMES = ("望江花园", "锦江苑", "水井坊东区", "成都市锦江区水井坊街道望江路社区第二居民小组联合小区")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_district(compounds: int) -> District:
    district = District(name="锦江区")
    db.session.add(district)
    for number in range(compounds):
        street_no, community_no = number % 5, number // 5 % 10
        street = db.session.query(Street).filter_by(name=f"第{street_no + 1}街道").one_or_none()
        if street is None:
            street = Street(district=district, name=f"第{street_no + 1}街道")
            db.session.add(street)
            db.session.flush()
        name = f"{street.name}第{community_no + 1}社区"
        community = (
            db.session.query(Community).filter_by(street_id=street.id, name=name).one_or_none()
        )
        if community is None:
            community = Community(street=street, name=name)
            db.session.add(community)
            db.session.flush()
        db.session.add(Compound(community=community, name=f"{NAMES[number % 4]}{number + 1}号"))
    db.session.commit()
    return district


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compounds", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
                "REDIS_URL": None,
                "POSTER_DIR": f"{folder}/posters",
                "PUBLIC_BASE_URL": "https://canyu.example.gov.cn/",
            }
        )
        with app.app_context():
            db.create_all()
            district = make_district(args.compounds)
            batch = PosterBatch(
                level="district",
                place_id=district.id,
                place_name=district.name,
                total=args.compounds,
                base_url=app.config["PUBLIC_BASE_URL"],
            )
            db.session.add(batch)
            db.session.commit()

            start_wall, start_cpu = time.perf_counter(), cpu_seconds()
            tasks.build_batch(batch.id)
            wall, cpu = time.perf_counter() - start_wall, cpu_seconds() - start_cpu
            batch = db.session.get(PosterBatch, batch.id)
            path = tasks.batch_path(batch)
            with zipfile.ZipFile(path) as archive:
                pdfs = [n for n in archive.namelist() if n.endswith(".pdf")]
            status = f"{batch.done} of {batch.total} ({batch.status.value})"
            print(f"posters:        {status}, {len(pdfs)} PDFs")
            print(f"wall time:      {wall:.1f} s (target < 60 s for 500)")
            print(f"CPU time:       {cpu:.1f} s, {cpu / batch.done * 1000:.0f} ms a poster")
            print(f"zip:            {Path(path).stat().st_size / 2**20:.1f} MB")

            poster = posters.Poster(
                NAMES[3],
                "表决",
                "3栋2单元加装电梯",
                "2026年12月20日 18:00",
                "投票",
                "https://canyu.example.gov.cn/c/ab3k9mxq",
                "水井坊社区居民委员会",
                "12345",
            )
            for label, make in (
                ("render", lambda: posters.render(poster)),
                ("PNG", lambda image: posters.to_png(image)),
                ("PDF", lambda image: posters.to_pdf(image, "poster")),
            ):
                image = posters.render(poster)
                start = time.perf_counter()
                for _ in range(10):
                    make() if label == "render" else make(image)
                print(f"one poster {label:6}  {(time.perf_counter() - start) * 100:.0f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
