"""The resident's first visit on a slow phone network: what it transfers and when it is usable.

    .venv/bin/python bench/h5_slow_network.py [--runs 3] [--width 390]

Seeds the demo (``flask db upgrade``, ``flask demo seed``) into a SQLite file of its own in a
temporary directory, serves it with gunicorn from the venv on a free port, and opens the
notice-board short link (``/c/<code>``, as the QR code does) in Debian's Chromium driven by
Playwright, with the network throttled through the DevTools protocol
(``Network.emulateNetworkConditions``, which adds the latency to every request and caps the
throughput). Two profiles:

- **slow 3G**: 400 ms round trip, 400 kbit/s down and up (WebPageTest's "3G Slow");
- **DevTools 3G**: Chromium DevTools' preset of that name (formerly "Slow 3G"): 2,000 ms added
  to every request, 400 kbit/s — for reference: four requests in a row take 8 s whatever
  the page does.

Each run is a fresh browser context (empty cache); a second visit in the same context shows
what the year-long cache of the versioned assets saves. Printed per run: bytes transferred
(compressed, as on the wire, from ``Network.loadingFinished``), requests, and the time from
navigation to first contentful paint, to the sign-in form working (``DOMContentLoaded``: the
deferred script has run and wired the form) and to everything shown (the compound's name, its
notices and results: ``body[data-ready]``). Target: first load ≤ 150 KB and usable within 2 s on
slow 3G. It is not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
PROFILES = {
    "slow 3G (400 ms, 400 kbit/s)": {"latency": 400, "throughput": 400_000 // 8},
    "DevTools 3G (2000 ms, 400 kbit/s)": {"latency": 2000, "throughput": 400_000 // 8},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(folder: Path) -> tuple[subprocess.Popen, str, str]:
    """The demo on SQLite behind gunicorn: (process, base URL, the compound's short link)."""
    env = {
        **os.environ,
        "FLASK_APP": "wsgi:app",
        "PARTICIPATION_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "PARTICIPATION_SECRET_KEY": "bench-secret-key-with-enough-length-for-hs256",
        "PARTICIPATION_ID_HASH_KEY": "bench-id-hash-key",
        "PARTICIPATION_POSTER_DIR": str(folder / "posters"),
        "PARTICIPATION_REDIS_URL": "",
    }
    for command in (["db", "upgrade"], ["demo", "seed"]):
        subprocess.run([BIN / "flask", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    info = subprocess.run([BIN / "flask", "demo", "info"], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout
    link = re.search(r"/c/(\w+)", info).group(0)
    port = free_port()
    process = subprocess.Popen(
        [BIN / "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/h5/", timeout=1)
            return process, base, link
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")


def visit(context, url: str, profile: dict) -> dict:
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": profile["latency"],
            "downloadThroughput": profile["throughput"],
            "uploadThroughput": profile["throughput"],
        },
    )
    transferred = {"bytes": 0, "requests": 0, "cached": 0}

    def finished(event):
        transferred["bytes"] += event["encodedDataLength"]
        transferred["requests"] += 1

    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.requestServedFromCache", lambda _: transferred.__setitem__(
        "cached", transferred["cached"] + 1))
    started = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=60_000)
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    ready = time.perf_counter() - started
    timing = page.evaluate(
        """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const paint = performance.getEntriesByName('first-contentful-paint')[0];
            return {dom: nav.domContentLoadedEventEnd, fcp: paint ? paint.startTime : null};
        }"""
    )
    page.close()
    # performance times count from this document's navigation (after the /c/ redirect);
    # the redirect itself is in `ready` (wall clock from goto).
    return {**transferred, "fcp": timing["fcp"] / 1000, "dom": timing["dom"] / 1000,
            "ready": ready}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--width", type=int, default=390)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        server, base, link = serve(Path(folder))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                print(f"first visit of {base}{link} at {args.width} px, {args.runs} runs; "
                      f"load average {os.getloadavg()[0]:.2f}")
                for name, profile in PROFILES.items():
                    cold, warm = [], []
                    for _ in range(args.runs):
                        context = browser.new_context(
                            viewport={"width": args.width, "height": 800}, is_mobile=True,
                            locale="zh-CN",
                        )
                        cold.append(visit(context, base + link, profile))
                        warm.append(visit(context, base + link, profile))
                        context.close()
                    for label, runs in (("first visit", cold), ("again (cached)", warm)):
                        kb = [r["bytes"] / 1000 for r in runs]
                        print(
                            f"  {name:34} {label:15} "
                            f"{statistics.median(kb):6.1f} KB in {runs[0]['requests']} requests; "
                            f"painted {statistics.median(r['fcp'] for r in runs):.2f} s, "
                            f"form usable {statistics.median(r['dom'] for r in runs):.2f} s, "
                            f"all shown {statistics.median(r['ready'] for r in runs):.2f} s "
                            f"(worst {max(r['ready'] for r in runs):.2f} s)"
                        )
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
