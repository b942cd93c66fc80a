#!/usr/bin/env bash
# The second command: install everything, start PostgreSQL/PostGIS and Redis, run lint, types
# and the whole test suite against SQLite and PostgreSQL, stop the servers (also on failure).
#   scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test source scripts/bootstrap.sh
source scripts/services.sh
need_debian_packages chromium  # the web UI tests drive Debian's headless Chromium

trap services_stop EXIT INT TERM
services_start
export AIQ_TEST_REQUIRE_SERVICES=1

echo "== ruff"; ruff check src tests bench; ruff format --check src tests bench
echo "== mypy"; mypy
echo "== pytest"
status=0
pytest "$@" || status=$?
# Exit code 5 means no test was collected (e.g. a -k that matched nothing): not a failure.
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests"
  status=0
fi
exit "$status"
