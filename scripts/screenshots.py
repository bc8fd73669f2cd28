"""Take the README's screenshots of the web view again, from ``clienthub demo``.

Starts the demo in a process of its own (on a free port, in a temporary data directory),
signs in as Liisa - the colleague who covers Mikko while he is on sick leave - in
Debian's Chromium, and saves *My work* and the page of one of the clients she covers as
PNGs in ``deploy/screenshots/``. Run from the repository root::

    .venv/bin/python scripts/screenshots.py

The viewport is 1200x800, in Finnish; *My work* is captured as the viewport shows it, the
client page down to 1200 px so that its timeline shows too. That keeps each file small.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.demo_process import running_demo  # noqa: E402

TARGET = ROOT / "deploy" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
EMAIL = "liisa.nieminen@tilitoimisto-demo.fi"
PASSWORD = "demo-salasana"  # noqa: S105 - what the demo prints for every account
VIEWPORT = {"width": 1200, "height": 800}


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as where, running_demo(Path(where)) as demo, \
            sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = chromium.new_context(base_url=demo.url, locale="fi-FI", viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/")
        page.get_by_label("Sähköposti").fill(EMAIL)
        page.get_by_label("Salasana").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Kirjaudu sisään").click()
        page.get_by_role("heading", name="Omat työt", level=1).wait_for()
        save(page, "my-work")

        covered = page.locator("section", has=page.get_by_role(
            "heading", name="Sijaistamani asiakkaat nyt", level=2))
        with page.expect_navigation():
            covered.locator("tbody tr a").first.click()
        page.locator("main h1").wait_for()
        page.wait_for_load_state("networkidle")  # the timeline's first entries
        # The timeline starts below the note form: the top 1200 px of the page show both.
        save(page, "client-page", clip={"x": 0, "y": 0, "width": 1200, "height": 1200})
        context.close()
        chromium.close()


def save(page: object, name: str, clip: dict[str, int] | None = None) -> None:
    path = TARGET / f"{name}.png"
    options = {"full_page": True, "clip": clip} if clip else {}
    page.screenshot(path=str(path), **options)  # type: ignore[attr-defined]
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
