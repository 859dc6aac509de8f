"""A small mutation check of the counting rules and the cast path; run on demand, not in CI.

    .venv/bin/python scripts/mutate.py              # every mutant, SQLite, a worker per core
    .venv/bin/python scripts/mutate.py --list       # the mutants only
    .venv/bin/python scripts/mutate.py -k record_cast --workers 1

Each mutant is one small change to one function of ``TARGETS`` (a comparison flipped or
loosened, ``and``/``or`` swapped, ``not`` dropped, an arithmetic operator or a number changed, a
hash formula's string changed, a ``where=``/``sort_keys=``-style argument dropped). It is
written into a copy of the project in a temporary directory, never into the source tree, and
the targeted tests of its file (``TESTS``) run there (``pytest -x``, the copy first on
``sys.path``). A mutant is killed when they fail (or time out). Survivors are listed, except
those in ``EQUIVALENT``: mutants that cannot change behaviour, each with the reason.

With ``TEST_DATABASE_URL`` / ``REDIS_URL`` set, the tests run on PostgreSQL and Redis as well
(each worker on a database of its own: the URL's name with ``_mutN`` appended).
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# file → the functions mutated in it (None: every function of the file).
TARGETS: dict[str, tuple[str, ...] | None] = {
    "participation/counting.py": None,
    "participation/votes/services.py": (
        "effective_status",
        "accepting_casts",
        "_digest",
        "receipt_code",
        "event_content",
        "_plain",
        "lock_for_cast",
        "_ballot_upsert",
        "_write_cast",
        "record_cast",
        "_replay",
    ),
    "participation/votes/casting.py": (
        "_persons",
        "owned_persons_locked",
        "choose_person",
        "cast_as_owner",
        "completed_cast",
        "_cast_before",
    ),
    "participation/votes/record.py": ("genesis_hash", "chain_hash", "replay_ballots"),
}
# Strings are mutated only in the hash formulas (elsewhere they are keys and messages).
STRING_FUNCTIONS = {"_digest", "receipt_code", "genesis_hash", "chain_hash", "event_content"}
# Keyword arguments whose removal is a mutant.
DROPPED_KEYWORDS = {"where", "sort_keys", "separators", "ensure_ascii", "key_share", "read"}

_CAST_TESTS = (
    "tests/votes/test_record_format.py",
    "tests/votes/test_deadlines.py",
    "tests/votes/test_record_cast.py",
    "tests/votes/test_casting_api.py",
    "tests/votes/test_paper_ballots.py",
    "tests/votes/test_proxies.py",
    "tests/votes/test_record.py",
    "tests/votes/test_tally.py",
    "tests/votes/test_casting_concurrency.py::"
    "test_a_cast_committed_after_a_later_stamped_one_does_not_replace_it",
)
TESTS: dict[str, tuple[str, ...]] = {
    "participation/counting.py": (
        "tests/test_counting.py",
        "tests/surveys/test_consent.py",
        "tests/votes/test_tally.py",
    ),
    "participation/votes/services.py": _CAST_TESTS,
    "participation/votes/casting.py": _CAST_TESTS,
    "participation/votes/record.py": _CAST_TESTS,
}
TIMEOUT = 300  # seconds for one mutant's tests; a mutant that hangs them is killed

# Mutants that cannot change behaviour: (file, function, original, mutated) → why.
EQUIVALENT: dict[tuple[str, str, str, str], str] = {
    (
        "participation/votes/services.py",
        "record_cast",
        "now < status.opens_at",
        "now <= status.opens_at",
    ): "only reached when the cast is refused; now == opens_at is then impossible (an open "
    "vote at its opening instant accepts the cast, and closes_at > opens_at)",
    (
        "participation/votes/services.py",
        "_digest",
        "json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(',', ':'))",
        "json.dumps(content, sort_keys=True, separators=(',', ':'))",
    ): "an event's content is ASCII only (ids, kind, enum values, hex nonce, ISO time), which "
    "json.dumps writes the same with or without ensure_ascii",
    (
        "participation/votes/services.py",
        "_digest",
        "False",
        "True",
    ): "ensure_ascii=True: the same as dropping ensure_ascii=False (above)",
    (
        "participation/votes/services.py",
        "_ballot_upsert",
        "tuple_(Ballot.cast_at, Ballot.event_id) < "
        "tuple_(ballot.excluded.cast_at, ballot.excluded.event_id)",
        "tuple_(Ballot.cast_at, Ballot.event_id) <= "
        "tuple_(ballot.excluded.cast_at, ballot.excluded.event_id)",
    ): "the pairs are equal only for the same event, and every cast is a new event (a new id)",
    (
        "participation/votes/record.py",
        "replay_ballots",
        "(event.created_at, event.id) > (current.created_at, current.id)",
        "(event.created_at, event.id) >= (current.created_at, current.id)",
    ): "the pairs are equal only for the same event, and each event is replayed once",
}


@dataclass(frozen=True)
class Mutant:
    path: str
    function: str
    line: int
    original: str
    mutated: str
    source: str  # the whole mutated file

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.path, self.function, self.original, self.mutated)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.function}: `{self.original}` → `{self.mutated}`"


COMPARE_SWAPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
BINOP_SWAPS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.Add,
}


def _changes(node: ast.AST, function: str) -> Iterator[tuple[str, Callable]]:
    """(description of the change, function applying it to a copy of ``node``)."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:

                def swap(n, i=i):
                    n.ops[i] = COMPARE_SWAPS[type(n.ops[i])]()

                yield "compare", swap
    elif isinstance(node, ast.BoolOp):

        def flip(n):
            n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()

        yield "boolop", flip
    elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:

        def arith(n):
            n.op = BINOP_SWAPS[type(n.op)]()

        yield "binop", arith
    elif isinstance(node, ast.Call):
        for i, keyword in enumerate(node.keywords):
            if keyword.arg in DROPPED_KEYWORDS:

                def drop(n, i=i):
                    del n.keywords[i]

                yield "keyword", drop
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):

            def negate(n):
                n.value = not n.value

            yield "bool", negate
        elif isinstance(value, int) and not isinstance(value, bool):

            def plus_one(n):
                n.value += 1

            yield "number", plus_one
        elif isinstance(value, str) and value and function in STRING_FUNCTIONS:

            def change(n):
                n.value = n.value.replace("|", ":") if "|" in n.value else n.value + "X"

            yield "string", change


def _unary_not(node: ast.AST) -> bool:
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)


def _is_docstring(node: ast.AST, parents: dict) -> bool:
    parent = parents.get(node)
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and isinstance(parent, ast.Expr)
        and isinstance(parents.get(parent), ast.FunctionDef | ast.AsyncFunctionDef | ast.Module)
    )


def _shown(node: ast.AST) -> str:
    return repr(node.value) if isinstance(node, ast.Constant) else _one_line(ast.unparse(node))


def mutants_of(path: str, functions: tuple[str, ...] | None) -> list[Mutant]:
    text = (ROOT / path).read_text()
    tree = ast.parse(text)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[Mutant] = []
    for top in tree.body:
        if not isinstance(top, ast.FunctionDef) or (functions and top.name not in functions):
            continue
        for node in ast.walk(top):
            if node is top or _is_docstring(node, parents):
                continue
            changes = list(_changes(node, top.name))
            if _unary_not(node):
                changes.append(("not", None))
            for _, apply in changes:
                mutated_tree = copy.deepcopy(tree)
                function = mutated_tree.body[tree.body.index(top)]
                target = _same_node(function, top, node)
                if apply is None:  # `not x` → `x`
                    _replace(mutated_tree, target, target.operand)
                    after = _shown(target.operand)
                else:
                    apply(target)
                    after = _shown(target)
                original = _shown(node)
                mutant = Mutant(
                    path, top.name, node.lineno, original, after, ast.unparse(mutated_tree) + "\n"
                )
                found.append(mutant)
    return found


def _same_node(copied_function: ast.AST, original_function: ast.AST, node: ast.AST) -> ast.AST:
    """The node of the copied function at the place of ``node`` in the original one."""
    for a, b in zip(ast.walk(original_function), ast.walk(copied_function), strict=True):
        if a is node:
            return b
    raise LookupError(node)


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                value[[item is old for item in value].index(True)] = new
                return
    raise LookupError(old)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# Running ------------------------------------------------------------------------------------


def make_copy(workdir: Path) -> Path:
    """The project without its virtualenv, git directory and caches."""
    copy_root = workdir / "project"
    shutil.copytree(
        ROOT,
        copy_root,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", "instance", "*.egg-info"
        ),
    )
    return copy_root


def environments(worker: int) -> list[dict[str, str]]:
    """SQLite (fast, and its own branches), then PostgreSQL if ``TEST_DATABASE_URL`` is set
    (a database per worker: the URL's name with ``_mutN`` appended)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    url = env.pop("TEST_DATABASE_URL", None)
    env.pop("CI", None)  # the SQLite run skips what needs PostgreSQL
    if not url:
        return [env]
    base, _, query = url.partition("?")
    postgres = dict(env, TEST_DATABASE_URL=f"{base}_mut{worker}" + (f"?{query}" if query else ""))
    return [env, postgres]


def check_copy_is_imported(copy_root: Path, env: dict) -> None:
    """The tests must import the mutated copy, not the installed source tree."""
    where = subprocess.run(
        [sys.executable, "-c", "import participation; print(participation.__file__)"],
        cwd=copy_root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(copy_root.resolve()):
        raise SystemExit(f"the copy is not what the tests import ({where}); giving up")


def run_tests(copy_root: Path, tests: tuple[str, ...], envs: list[dict]) -> tuple[bool, float]:
    """(passed on every backend, seconds); stops at the first failure."""
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    for env in envs:
        try:
            done = subprocess.run(
                command, cwd=copy_root, env=env, capture_output=True, timeout=TIMEOUT
            )
        except subprocess.TimeoutExpired:
            return False, time.monotonic() - started
        if done.returncode != 0:
            return False, time.monotonic() - started
    return True, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("-k", default="", help="only mutants whose description contains this")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    mutants = [m for path, fns in TARGETS.items() for m in mutants_of(path, fns)]
    mutants = [m for m in mutants if args.k in str(m)]
    if args.list:
        for mutant in mutants:
            print(mutant)
        print(f"{len(mutants)} mutants")
        return 0

    with tempfile.TemporaryDirectory(prefix="participation-mutants-") as tmp:
        copies = [make_copy(Path(tmp) / f"w{i}") for i in range(args.workers)]
        envs = [environments(i) for i in range(args.workers)]
        check_copy_is_imported(copies[0], envs[0][0])
        every_test = tuple(dict.fromkeys(t for tests in TESTS.values() for t in tests))
        if not run_tests(copies[0], every_test, envs[0])[0]:
            raise SystemExit("the tests fail without any mutant; fix that first")
        free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for worker in range(args.workers):
            free.put(worker)
        results: dict[Mutant, bool] = {}

        def run(mutant: Mutant) -> tuple[Mutant, bool, float]:
            worker = free.get()
            target = copies[worker] / mutant.path
            original = target.read_text()
            try:
                target.write_text(mutant.source)
                survived, seconds = run_tests(copies[worker], TESTS[mutant.path], envs[worker])
            finally:
                target.write_text(original)
                free.put(worker)
            return mutant, survived, seconds

        started = time.monotonic()
        with ThreadPoolExecutor(args.workers) as pool:
            for n, (mutant, survived, seconds) in enumerate(pool.map(run, mutants), start=1):
                results[mutant] = survived
                verdict = "SURVIVED" if survived else "killed"
                print(f"[{n}/{len(mutants)}] {verdict:8} {seconds:5.1f}s {mutant}", flush=True)

    survivors = [m for m, survived in results.items() if survived]
    equivalent = [m for m in survivors if m.key in EQUIVALENT]
    unexplained = [m for m in survivors if m.key not in EQUIVALENT]
    minutes = (time.monotonic() - started) / 60
    print(
        f"\n{len(results)} mutants: {len(results) - len(survivors)} killed, "
        f"{len(survivors)} survived ({len(equivalent)} equivalent, listed in EQUIVALENT) "
        f"in {minutes:.1f} min"
    )
    for mutant in equivalent:
        print(f"  equivalent: {mutant}\n    {EQUIVALENT[mutant.key]}")
    for mutant in unexplained:
        print(f"  SURVIVED: {mutant}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
