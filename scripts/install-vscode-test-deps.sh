#!/usr/bin/env bash
# Installs what the in-VS-Code tests need on a machine that cannot download VS Code or a browser
# build: Debian's Chromium, and code-server (VS Code's server + web workbench, from npm) in a cache
# outside the repo. Idempotent: whatever is already there is kept, so a warm run takes ~1 s.
#
#   PLAN_ORCHESTRATOR_CACHE  cache root (default ~/.cache/plan-orchestrator)
#   CHROMIUM_PATH            use this browser instead of Debian's /usr/bin/chromium
set -euo pipefail

CS_VERSION=4.100.3 # VS Code 1.100.3: the last release whose engines.node is 20 (see engines.vscode)
CACHE=${PLAN_ORCHESTRATOR_CACHE:-$HOME/.cache/plan-orchestrator}
DEST=$CACHE/code-server-$CS_VERSION
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}

log() { printf '[install-vscode-test-deps] %s\n' "$*"; }
is_root() { [ "$(id -u)" = 0 ]; }

code_server_ok() {
  local entry=$DEST/node_modules/code-server/out/node/entry.js
  [ -f "$entry" ] || return 1
  node "$entry" --version 2>/dev/null | grep -q "^$CS_VERSION "
}
chromium_ok() { [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1; }
# kerberos (a code-server dependency) compiles against the gssapi headers: its prebuilt download fails offline.
krb5_ok() { [ -f /usr/include/gssapi/gssapi.h ] || [ -f /usr/include/gssapi.h ]; }
rg_ok() { command -v rg >/dev/null 2>&1; }

APT_UPDATED=0
# The lock timeout matters when someone else on the machine is installing at the same time.
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
apt_update() { log "apt-get update"; apt_get update -qq; APT_UPDATED=1; }
apt_install() {
  local out
  out=$(mktemp)
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null)" ]; then apt_update; fi
  if ! apt_get install -y --no-install-recommends "$@" >"$out" 2>&1; then
    # Stale lists give 404s on the .debs: refresh once and retry.
    if [ "$APT_UPDATED" = 1 ]; then cat "$out" >&2; rm -f "$out"; return 1; fi
    apt_update
    apt_get install -y --no-install-recommends "$@" >"$out" 2>&1 || { cat "$out" >&2; rm -f "$out"; return 1; }
  fi
  rm -f "$out"
}

need_apt=()
chromium_ok || { [ -n "${CHROMIUM_PATH:-}" ] && { log "CHROMIUM_PATH=$CHROMIUM_PATH does not run"; exit 1; }; need_apt+=(chromium); }
if ! code_server_ok; then
  krb5_ok || need_apt+=(libkrb5-dev pkg-config)
  rg_ok || need_apt+=(ripgrep)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  if ! is_root; then
    log "missing: ${need_apt[*]} (Debian packages). Run this script once as root, or:"
    log "  sudo apt-get install -y --no-install-recommends ${need_apt[*]}"
    log "then run it again as $(id -un) to install code-server into $DEST."
    exit 1
  fi
  log "apt-get install ${need_apt[*]}"
  apt_install "${need_apt[@]}"
fi
chromium_ok || { log "chromium does not run: $CHROMIUM --version failed"; exit 1; }
log "chromium: $("$CHROMIUM" --version 2>/dev/null)"

if code_server_ok; then
  log "code-server $CS_VERSION: already in $DEST"
  exit 0
fi

# Installed into a staging folder and moved into place at the end, so an interrupted or failed
# install (npm rolls node_modules back on a failed postinstall) never looks like a finished one.
mkdir -p "$CACHE"
STAGE=$(mktemp -d "$CACHE/.code-server-stage.XXXXXX")
chmod 755 "$STAGE"
trap 'rm -rf "$STAGE"' EXIT
W=$STAGE/tmp
mkdir -p "$W"

# @vscode/ripgrep's postinstall downloads rg from GitHub; it first looks in
# $TMPDIR/vscode-ripgrep-cache-<version>/, so put Debian's rg there under the name it expects.
# (@vscode/ripgrep 1.15.11 fetches rg v13.0.0-10; names from its lib/postinstall.js)
case "$(uname -m)" in
  x86_64) RG_TRIPLE=x86_64-unknown-linux-musl ;;
  aarch64) RG_TRIPLE=aarch64-unknown-linux-musl ;;
  *) log "unsupported architecture $(uname -m)"; exit 1 ;;
esac
mkdir -p "$W/rg/bin" "$W/vscode-ripgrep-cache-1.15.11"
cp "$(command -v rg)" "$W/rg/bin/rg"
tar czf "$W/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-$RG_TRIPLE.tar.gz" -C "$W/rg/bin" rg

# Native modules (argon2, kerberos, node-pty) build with node-gyp, which downloads Node's headers
# unless nodedir points at local ones: use the running Node's own when npm is not set up for it.
NODEDIR=$(npm config get nodedir 2>/dev/null || true)
if [ -z "$NODEDIR" ] || [ "$NODEDIR" = undefined ] || [ "$NODEDIR" = null ]; then
  NODE_PREFIX=$(dirname "$(dirname "$(node -p process.execPath)")")
  if [ -f "$NODE_PREFIX/include/node/node_version.h" ]; then export npm_config_nodedir=$NODE_PREFIX; fi
fi

echo '{"name":"plan-orchestrator-code-server","private":true}' > "$STAGE/package.json"
log "npm install code-server@$CS_VERSION (about a minute; all of it is retried if a postinstall fails)"
# unsafe_perm: as root, code-server's postinstall otherwise runs as nobody and fails (npm 11 has no flag for it).
# yes: node-pty's postinstall runs `npx node-gyp`, which would stop to ask.
(
  cd "$STAGE"
  TMPDIR="$W" npm_config_unsafe_perm=true npm_config_yes=true npm_config_fund=false npm_config_audit=false \
    npm_config_update_notifier=false \
    npm install --no-save --foreground-scripts --loglevel=error "code-server@$CS_VERSION" > "$W/npm-install.log" 2>&1
) || { tail -n 60 "$W/npm-install.log" >&2; log "npm install failed (its last lines are above)"; exit 1; }
rm -rf "$W"

rm -rf "$DEST"
mv "$STAGE" "$DEST"
trap - EXIT
code_server_ok || { log "code-server was installed in $DEST but '--version' does not report $CS_VERSION"; exit 1; }
log "code-server $CS_VERSION: installed in $DEST"
