"""Sum up py-spy's collapsed stacks (``--format raw``, as ``cast_ballots.py --profile`` and
``answer_surveys.py --profile`` write them): where the sampled time went.

    .venv/bin/python bench/profile_summary.py FILE [--under FUNCTION] [--top 40]

Prints each function's share of the samples including what it called (inclusive) and the
functions the samples ended in (self). ``--under``: only the samples under the first frame
whose name starts with FUNCTION, broken down by the frame just below it.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

FRAME = re.compile(r"(?P<name>.*) \((?P<file>.*?):\d+\)$")


def name_of(frame: str) -> str:
    """``function (file)``, the file relative to site-packages when it is a library's."""
    match = FRAME.match(frame)
    if not match:
        return frame
    return f"{match['name']} ({match['file'].split('site-packages/')[-1]})"


def stacks(path: str):
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            yield [name_of(f) for f in stack.split(";")], int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--under", help="break down the samples under this function")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    total, inclusive, own, below = 0, Counter(), Counter(), Counter()
    for frames, count in stacks(args.file):
        if args.under:
            at = next((i for i, f in enumerate(frames) if f.startswith(args.under)), None)
            if at is None:
                continue
            below[frames[at + 1] if at + 1 < len(frames) else "(itself)"] += count
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        raise SystemExit("no samples")
    print(f"{total} samples")
    sections = [("under " + args.under, below)] if args.under else []
    sections += [("inclusive", inclusive), ("self", own)]
    for title, counter in sections:
        print(f"--- {title}")
        for name, count in counter.most_common(args.top):
            print(f"{100 * count / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
