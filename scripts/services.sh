#!/usr/bin/env bash
# Starts PostgreSQL 15 + PostGIS 3 and Redis 7 on 127.0.0.1 in a throwaway directory.
#   source scripts/services.sh; services_start; ...; services_stop
# Exports AIQ_TEST_POSTGRES_URL and AIQ_TEST_REDIS_URL.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

services_start() {
  need_debian_packages postgresql-15 postgresql-15-postgis-3 redis-server
  SERVICES_DIR="$(mktemp -d /tmp/aiq-services.XXXXXX)"
  chmod 755 "$SERVICES_DIR"
  export SERVICES_DIR

  local pg_data="$SERVICES_DIR/pg" pg_port
  pg_port="$(free_port)"
  mkdir -p "$pg_data"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pg_data"
  as_pg_user "$PG_BIN/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  as_pg_user "$PG_BIN/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  export AIQ_TEST_POSTGRES_URL="postgresql+asyncpg://postgres@127.0.0.1:$pg_port/postgres"

  local redis_port
  redis_port="$(free_port)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$SERVICES_DIR" --daemonize yes --pidfile "$SERVICES_DIR/redis.pid" \
    --logfile "$SERVICES_DIR/redis.log" >/dev/null
  for _ in $(seq 50); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  export AIQ_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
  echo "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port (in $SERVICES_DIR)"
}

services_stop() {
  [ -n "${SERVICES_DIR:-}" ] || return 0
  if [ -d "$SERVICES_DIR/pg" ]; then
    as_pg_user "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$SERVICES_DIR/redis.pid" ]; then
    kill "$(cat "$SERVICES_DIR/redis.pid")" 2>/dev/null || true
  fi
  rm -rf "$SERVICES_DIR"
  SERVICES_DIR=""
}
