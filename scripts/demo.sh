#!/usr/bin/env bash
# The first command: set up, load the sample data and serve AIQLeads on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec aiqleads demo "$@"
