#!/usr/bin/env bash
# Makes sure PostgreSQL and NATS (with JetStream) answer on the addresses jetbox uses,
# starting (and if needed installing) them when they do not. Used by .ci/run and `npm run dev`.
# With --browser (npm test) it also installs Debian's chromium, which the console's browser test
# drives through playwright-core (which downloads no browsers).
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
NATS_PORT=4222
STATE_DIR="${JETBOX_STATE_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.jetbox}"

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() { # host port what
  for _ in $(seq 1 60); do reachable "$1" "$2" && return 0; sleep 0.5; done
  echo "ensure-services: $3 did not come up on $1:$2 within 30 s" >&2
  return 1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  echo "ensure-services: installing $* with apt-get"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if reachable "$PG_HOST" "$PG_PORT"; then echo "ensure-services: PostgreSQL is up on $PG_HOST:$PG_PORT"; return; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then apt_install postgresql; fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if ! as_root pg_lsclusters -h | grep -q "^$version main"; then as_root pg_createcluster "$version" main; fi
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  # Local development and CI only: trust on loopback, as the rest of jetbox's defaults assume.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  echo "ensure-services: starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for "$PG_HOST" "$PG_PORT" PostgreSQL
}

ensure_nats() {
  if reachable 127.0.0.1 "$NATS_PORT"; then echo "ensure-services: NATS is up on 127.0.0.1:$NATS_PORT"; return; fi
  if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then apt_install nats-server; fi
  local bin
  bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  mkdir -p "$STATE_DIR/nats"
  echo "ensure-services: starting $bin -js on 127.0.0.1:$NATS_PORT (store: $STATE_DIR/nats)"
  nohup "$bin" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$STATE_DIR/nats" >"$STATE_DIR/nats-server.log" 2>&1 &
  wait_for 127.0.0.1 "$NATS_PORT" nats-server
}

ensure_database() {
  # `npm run dev` uses the default databases when DATABASE_URL is not set: make sure they exist
  # (match-service's `jetbox`, notifier's `jetbox_notifier`).
  [ -n "${DATABASE_URL:-}" ] && return
  command -v psql >/dev/null 2>&1 || return
  local db
  for db in jetbox jetbox_notifier; do
    if ! psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -tAc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
      echo "ensure-services: creating database $db"
      psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -qc "create database $db"
    fi
  done
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then echo "ensure-services: chromium is installed"; return; fi
  apt_install chromium
}

ensure_postgres
ensure_database
ensure_nats
if [ "${1:-}" = --browser ]; then ensure_chromium; fi
