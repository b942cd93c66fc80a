#!/usr/bin/env bash
# The second command: install everything, start PostgreSQL/PostGIS and Redis, run lint, types
# and the whole test suite against SQLite and PostgreSQL, stop the servers (also on failure).
#   scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test source scripts/bootstrap.sh
source scripts/services.sh
need_debian_packages chromium  # the web UI tests drive Debian's headless Chromium
# promtool (alert rules, their unit tests, dashboard expressions), Prometheus itself (scraping a
# running server) and amtool (Alertmanager routing): tests/deploy.
need_debian_packages prometheus prometheus-alertmanager
# wrk, the HTTP load test's load generator (bench/wrk_load.py, tested in tests/).
need_debian_packages wrk

trap services_stop EXIT INT TERM
services_start
export AIQ_TEST_REQUIRE_SERVICES=1

echo "== ruff"; ruff check src tests bench; ruff format --check src tests bench
echo "== mypy"; mypy
echo "== pytest"
# Branch coverage over the whole run (every database test runs on SQLite and on PostgreSQL in
# this one run, and pytest-cov combines its workers' data, so the figure covers both); a full run
# fails under the floor.
# By folder, not package name: alembic loads the migrations under names of its own, which a
# package-name filter would not count although every run executes them.
COVERAGE=(--cov="$PWD/src/aiqleads" --cov-branch --cov-report=term:skip-covered)
if [ $# -eq 0 ]; then
  COVERAGE+=(--cov-fail-under="${AIQ_COVERAGE_MIN:-90}")
fi
# Test files shared out among AIQ_TEST_WORKERS processes (pytest-xdist; each has its own
# PostgreSQL database, SQLite file and Redis database): the suite waits on servers, browsers and
# databases as much as it computes. 0 runs everything in this process.
PARALLEL=(-n "${AIQ_TEST_WORKERS:-2}" --dist loadfile)
status=0
pytest "${PARALLEL[@]}" "${COVERAGE[@]}" "$@" || status=$?
# Exit code 5 means no test was collected (e.g. a -k that matched nothing): not a failure.
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests"
  status=0
fi
exit "$status"
