"""Where the tests find real data: copies in the repository, and the shared corpora (maybe absent).

- `FIXTURES`: files copied into tests/fixtures/<area>/, each folder's README.md naming every file's
  origin and licence. Tests read these unconditionally.
- The real sources bundled in the package itself (`aiqleads.sample.sources`: the King County
  sales, Seattle Craigslist rentals, Redfin Seattle search results) are read from there.
- The shared corpora: the folder named by $AIQLEADS_SHARED_DATA, else <repo>/../shared/data
  (described by its README.md). They hold what may not be copied here (no licence stated, LGPL,
  the RESO EULA, MLS data terms). `shared_path` is the only way a test reaches them: it returns
  the path, or skips the test with a reason naming the path it looked for. tests/conftest.py
  marks every test using the `shared_path` fixture `shared_data` and ends each run with
  `summary_line`, so a run without the folder says how many tests it did not run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

ENV_VAR = "AIQLEADS_SHARED_DATA"
REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"

# Every skip raised by `shared_path` starts with this, which is how the summary counts them.
SKIP_REASON_PREFIX = "shared data missing:"

SharedPath = Callable[..., Path]


def shared_data_root() -> Path:
    """The shared data folder: $AIQLEADS_SHARED_DATA if set, else <repo>/../shared/data."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "data").resolve()


def shared_path(*parts: str) -> Path:
    """shared_path("reso", "x.json") or shared_path("reso/x.json"): the path under the shared
    data folder, or the calling test is skipped with a reason naming that path.

    Call it through the `shared_path` fixture, so the test is marked `shared_data`; a fixture
    parameter that calls it directly must carry that mark itself.
    """
    path = shared_data_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{SKIP_REASON_PREFIX} {path} (set {ENV_VAR} to the folder holding it)")
    return path


def fixture_path(*parts: str) -> Path:
    """A file copied into tests/fixtures; a missing one is a broken checkout, so it fails."""
    path = FIXTURES.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"test fixture missing: {path}")
    return path


def is_shared_data_skip(report: pytest.TestReport) -> bool:
    """Whether a skipped test's report is a skip raised by `shared_path`."""
    longrepr = report.longrepr
    # A skip's longrepr is (file, line, "Skipped: <reason>").
    message = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return SKIP_REASON_PREFIX in message


def summary_line(skipped: int) -> str:
    """The one line printed after every run, whatever the outcome."""
    root = shared_data_root()
    where = f"looked in {root}" + ("" if root.is_dir() else ", which does not exist")
    tests = "test" if skipped == 1 else "tests"
    return f"shared data: {skipped} {tests} skipped for want of it ({where}; set {ENV_VAR})"
