"""A real `aiqleads serve` process on the test database, and headless Chromium to drive it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import Backend
from tests.live import serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_PRESENT = Path(CHROMIUM).exists()
# Without these, Chromium tries Google's hosts at start-up; this machine has no such network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(backend: Backend, engine: object, tmp_path: Path) -> Iterator[str]:
    with serve(backend, tmp_path) as base:
        yield base


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_PRESENT:
        pytest.fail(f"Chromium not found at {CHROMIUM}: scripts/test.sh installs Debian's chromium")
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        await instance.close()


SCREENSHOTS = Path(__file__).parent / "screenshots"  # gitignored; the best are copied to docs/
# The live server runs its background tasks itself (notices, the hold sweeper every second),
# also on the PostgreSQL run where Redis would otherwise hand them to a worker process; its
# notices still fan out through Redis there.
LIVE_ENV = {
    "AIQ_WORKER__BACKEND": "embedded",
    "AIQ_WORKER__HOLD_SWEEP_SECONDS": "1",
    "AIQ_WORKER__POLL_SECONDS": "0.2",
}


@pytest.fixture
def web_server(backend: Backend, engine: object, tmp_path: Path) -> Iterator[str]:
    """`aiqleads serve` running every background task itself, on the test database."""
    # workers named: then the mapping can only fill the environment (**env: str)
    with serve(backend, tmp_path, workers=1, **LIVE_ENV) as base:
        yield base


def screenshot_path(name: str) -> str:
    SCREENSHOTS.mkdir(exist_ok=True)
    return str(SCREENSHOTS / name)
