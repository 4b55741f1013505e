#!/usr/bin/env bash
# Installs Debian's redis-server for the distributed tests (they start their own instance on a free
# loopback port; nothing here runs a server). Idempotent; needs root the first time.
set -euo pipefail
log() { printf '[install-redis] %s\n' "$*"; }
if command -v redis-server >/dev/null 2>&1; then
  log "$(redis-server --version | head -n1)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "redis-server is missing; install it once as root: sudo apt-get install -y --no-install-recommends redis-server"
  exit 1
fi
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
log "apt-get install redis-server"
if ! apt_get install -y --no-install-recommends redis-server >/tmp/install-redis.log 2>&1; then
  apt_get update -qq
  apt_get install -y --no-install-recommends redis-server >/tmp/install-redis.log 2>&1 || { tail -n 20 /tmp/install-redis.log >&2; exit 1; }
fi
# Debian's package starts a system-wide server on 6379; the tests start their own.
log "$(redis-server --version | head -n1)"
