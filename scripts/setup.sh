#!/usr/bin/env bash
# Installs what Sherwood needs on a fresh Debian machine. `setup.sh app` prepares the venv only;
# `setup.sh test` also installs the SDKs the tests drive (alpaca-trade-api in a venv of its own, .venv-ata),
# Chromium and nginx (the scale-out tests) and makes sure PostgreSQL and Redis are running.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-app}
SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo "sudo")

apt_install() {
  # apt-get update only when something is actually missing: it is the slow part.
  if [ ! -f /tmp/.sherwood-apt-updated ]; then $SUDO apt-get update -qq && touch /tmp/.sherwood-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

python_env() {
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv || { apt_install python3-venv && python3 -m venv .venv; }
  fi
  local stamp=.venv/.requirements.sha
  local want; want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -r requirements.txt
    echo "$want" > "$stamp"
  fi
}

test_python_env() {
  # The SDKs the tests drive, kept out of the runtime's requirements (alpaca-py pulls in pandas).
  local stamp=.venv/.requirements-test.sha
  local want; want=$(sha256sum requirements-test.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/pip install -q -r requirements-test.txt
    echo "$want" > "$stamp"
  fi
}

trade_api_env() {
  # alpaca-trade-api pins websockets<11 and msgpack==1.0.3, so it cannot share the app's venv: the tests run their
  # alpaca-trade-api bots (tests/alpaca/trade_api/) with the python of this one, rebuilt when its pins change.
  local stamp=.venv-ata/.requirements.sha
  local want; want=$(sha256sum requirements-alpaca-trade-api.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    [ -x .venv-ata/bin/python ] || python3 -m venv .venv-ata || { apt_install python3-venv && python3 -m venv .venv-ata; }
    .venv-ata/bin/pip install -q --upgrade pip >/dev/null
    .venv-ata/bin/pip install -q -r requirements-alpaca-trade-api.txt
    echo "$want" > "$stamp"
  fi
}

services() {
  command -v chromium >/dev/null || apt_install chromium
  # The scale-out tests start their own nginx (never the system service) from deploy/nginx/sherwood.conf.
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || apt_install nginx
  if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fi
  # The floor of bench/orders_bench.py; Debian 12 ships pgbench with the server (postgresql-contrib pulls it in).
  command -v pgbench >/dev/null || ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || apt_install postgresql-contrib
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    cluster=$(ls /etc/postgresql | sort -V | tail -n1)
    pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || $SUDO pg_ctlcluster "$cluster" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
  if ! command -v redis-server >/dev/null; then apt_install redis-server; fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
  fi
}

case "$mode" in
  app) python_env ;;
  test) python_env; test_python_env; trade_api_env; services ;;
  alpaca-trade-api) trade_api_env ;;  # what the alpaca-trade-api tests run on, alone (their fixture asks for it)
  *) echo "usage: $0 [app|test|alpaca-trade-api]" >&2; exit 2 ;;
esac
