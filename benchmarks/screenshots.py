"""The README's pictures of ``protloc serve``: the results table and a protein's page, in headless Chromium.

Usage:
    python benchmarks/screenshots.py [--model PRESET (default: the default preset)] [--out docs/screenshots]

Starts ``protloc serve`` on a free port of 127.0.0.1, pastes four of the example proteins (protloc/prediction/presets/
examples.fasta), waits for the table, opens the first protein and saves ``results.png`` and ``protein.png``.
Needs Chromium (Debian's ``chromium``) and Playwright's Python package.
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import socket
import subprocess
import sys
import time

from protloc.data import sequences
from protloc.prediction import presets

ARGUMENTS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]


def main(argv=None) -> int:
    import httpx
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=presets.DEFAULT)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("docs/screenshots"))
    args = parser.parse_args(argv)
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        parser.error("Chromium is not installed (apt-get install chromium)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "protloc.apps.cli", "serve", "--model", args.model, "--port",
                               str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                httpx.get(base + "/api/model", timeout=2)
                break
            except httpx.HTTPError:
                if server.poll() is not None:
                    return 1
                time.sleep(0.5)
        records = list(sequences.read_fasta(presets.EXAMPLES))[:4]
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, args=ARGUMENTS)
            page = browser.new_page(viewport={"width": 1500, "height": 760})
            page.goto(base + "/")
            page.fill("#fasta", "".join(f">{r.description}\n{r.sequence}\n" for r in records))
            page.click("#run")
            page.wait_for_selector(f"#results tbody tr:nth-child({len(records)})", timeout=300_000)
            page.screenshot(path=str(args.out / "results.png"), full_page=True)
            page.click("#results tbody tr:first-child a")
            page.wait_for_selector("#track svg rect", timeout=300_000)
            page.screenshot(path=str(args.out / "protein.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"written: {args.out / 'results.png'}, {args.out / 'protein.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
