#!/usr/bin/env bash
# Installs the real agent CLIs the agent tests drive, pinned, into a cache outside the repo:
#   @anthropic-ai/claude-code  (its native binary comes in its platform package from npm)
#   @openai/codex              (likewise)
# The tests point them at scripted model servers on 127.0.0.1; nothing here talks to a model.
# Idempotent: a warm run takes well under a second.
#
#   PLAN_ORCHESTRATOR_CACHE  cache root (default ~/.cache/plan-orchestrator)
set -euo pipefail

CLAUDE_VERSION=2.1.197 # runs on Node 20; pinned so the stream-json shapes the tests read stay put
CODEX_VERSION=0.171.0
CACHE=${PLAN_ORCHESTRATOR_CACHE:-$HOME/.cache/plan-orchestrator}

log() { printf '[install-agent-clis] %s\n' "$*"; }

# install <dir> <package@version> <bin path inside the package dir> <expected --version output pattern>
install() {
  local dest=$1 spec=$2 bin=$3 expect=$4
  if [ -x "$dest/$bin" ] && "$dest/$bin" --version 2>/dev/null | grep -q "$expect"; then
    log "$spec: already in $dest"
    return 0
  fi
  mkdir -p "$CACHE"
  local stage
  stage=$(mktemp -d "$CACHE/.agent-stage.XXXXXX")
  echo '{"name":"plan-orchestrator-agent-cli","private":true}' > "$stage/package.json"
  log "npm install $spec"
  if ! (cd "$stage" && npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false \
      npm install --no-save --loglevel=error "$spec" > "$stage/npm-install.log" 2>&1); then
    tail -n 30 "$stage/npm-install.log" >&2
    rm -rf "$stage"
    log "npm install $spec failed"
    return 1
  fi
  rm -rf "$dest"
  mv "$stage" "$dest"
  if ! "$dest/$bin" --version 2>/dev/null | grep -q "$expect"; then
    log "$spec was installed in $dest but '$bin --version' does not print $expect"
    return 1
  fi
  log "$spec: installed in $dest"
}

status=0
install "$CACHE/claude-code-$CLAUDE_VERSION" "@anthropic-ai/claude-code@$CLAUDE_VERSION" \
  node_modules/@anthropic-ai/claude-code/bin/claude.exe "^$CLAUDE_VERSION" || status=1
install "$CACHE/codex-$CODEX_VERSION" "@openai/codex@$CODEX_VERSION" \
  node_modules/@openai/codex/bin/codex.js "$CODEX_VERSION" || status=1
exit $status
