#!/usr/bin/env bash
# Creates .venv and installs the project. Sourced by demo.sh and test.sh.
#   EXTRAS=test  installs the test dependencies too.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

need_debian_packages() {
  # Installs the Debian packages named, when missing and when we can (root + apt).
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "missing Debian packages: ${missing[*]} (install them, or run as root)" >&2
    return 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Python 3.11 or newer is needed (found $("$PYTHON" --version))" >&2; exit 1; }

if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  need_debian_packages python3-venv
fi

# LightGBM's wheel (the scoring model) loads the GCC OpenMP runtime at import.
need_debian_packages libgomp1

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when pyproject.toml or constraints.txt changed since the last install. The
# constraints pin every package to the version the suite last passed with (a release of a
# dependency between two runs once failed a fresh clone's type check).
STAMP="$VENV/.installed-${EXTRAS:-base}"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ] \
  || [ "$ROOT/constraints.txt" -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  if [ -n "${EXTRAS:-}" ]; then
    "$VENV/bin/python" -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT[$EXTRAS]"
  else
    "$VENV/bin/python" -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT"
  fi
  touch "$STAMP"
fi
# Browser packages (MapLibre GL JS) come from the npm registry at set-up, pinned by
# package-lock.json, and are copied into the served static folder (gitignored: nothing from
# node_modules is committed, nothing is fetched from a CDN at run time). Node.js and npm come
# from Debian when missing (as root); where they cannot be installed this warns and goes on: the
# web app then says its map assets are missing.
WEB_VENDOR="$ROOT/src/aiqleads/web/static/vendor"
install_web_assets() {
  if ! command -v npm >/dev/null && ! need_debian_packages nodejs npm; then
    echo "warning: npm not found: the web app's map will be missing (install Node.js and npm)" >&2
    return 0
  fi
  local stamp="$ROOT/node_modules/.aiq-installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/package-lock.json" -nt "$stamp" ]; then
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) && touch "$stamp"
  fi
  local dist="$ROOT/node_modules/maplibre-gl/dist"
  mkdir -p "$WEB_VENDOR/maplibre-gl"
  for f in maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl-shared.mjs maplibre-gl.css; do
    if [ ! -f "$WEB_VENDOR/maplibre-gl/$f" ] || [ "$dist/$f" -nt "$WEB_VENDOR/maplibre-gl/$f" ]; then
      cp "$dist/$f" "$WEB_VENDOR/maplibre-gl/$f"
    fi
  done
  cp "$ROOT/node_modules/maplibre-gl/LICENSE.txt" "$WEB_VENDOR/maplibre-gl/LICENSE.txt"
}
install_web_assets
export PATH="$VENV/bin:$PATH"
