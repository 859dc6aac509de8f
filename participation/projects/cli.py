"""``flask projects …``: build a project's archive here, and check an archive's files against
its manifest (what an archivist receiving the .zip runs)."""

from __future__ import annotations

import hashlib
import json
import zipfile

import click
from flask.cli import AppGroup

from participation.extensions import db
from participation.projects import tasks
from participation.projects.models import ArchiveStatus, Project

projects_cli = AppGroup("projects", help="Renovation projects.")


@projects_cli.command("archive")
@click.argument("project_id", type=int)
@click.option("--staff-id", type=int, required=True, help="Who asks for it (a staff id).")
def archive_command(project_id: int, staff_id: int) -> None:
    """Build PROJECT_ID's archive in this process and print where the .zip is."""
    project = db.session.get(Project, project_id)
    if project is None:
        raise click.ClickException(f"no project {project_id}")
    archive, _ = tasks.create_archive(project, staff_id)
    db.session.commit()
    tasks.build_archive(archive.id)
    db.session.refresh(archive)
    if archive.status is not ArchiveStatus.DONE:
        raise click.ClickException(archive.error or "archive not built")
    click.echo(f"{tasks.archive_path(archive)} {archive.size} bytes sha256 {archive.sha256}")


def check_archive(path: str) -> list[str]:
    """Problems of the .zip at ``path``: a file whose SHA-256 or size is not the manifest's,
    a file missing, a file the manifest does not list."""
    problems = []
    with zipfile.ZipFile(path) as archive:
        listed = {f["name"]: f for f in json.loads(archive.read("manifest.json"))["files"]}
        present = set(archive.namelist()) - {"manifest.json"}
        for name in sorted(set(listed) - present):
            problems.append(f"{name}: listed, missing")
        for name in sorted(present - set(listed)):
            problems.append(f"{name}: not in the manifest")
        for name in sorted(present & set(listed)):
            content = archive.read(name)
            if hashlib.sha256(content).hexdigest() != listed[name]["sha256"]:
                problems.append(f"{name}: SHA-256 differs")
            elif len(content) != listed[name]["size"]:
                problems.append(f"{name}: size differs")
    return problems


@projects_cli.command("check-archive")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def check_archive_command(path: str) -> None:
    """Check every file of the archive at PATH against its manifest.json; exit status 1 on
    any problem."""
    problems = check_archive(path)
    for problem in problems:
        click.echo(problem)
    click.echo(f"{path}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    if problems:
        raise SystemExit(1)
