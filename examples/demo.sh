#!/usr/bin/env bash
# The main job on the bundled example: a throwaway repository with the example plans, then
# validate → use → next → start/complete → status → simulate → sync, with the bundled planctl.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
planctl() { node "$here/dist/planctl.mjs" "$@"; }
step() { printf '\n\033[1m$ planctl %s\033[0m\n' "$*"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/planctl-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q -b main
git config user.email demo@example.invalid
git config user.name "planctl demo"
mkdir -p docs/plans
cp "$here"/examples/plans/*.md docs/plans/
git add -A && git commit -qm "example plans"
echo "demo repository: $work"

step validate docs/plans/notes-api.md
planctl validate docs/plans/notes-api.md
step use docs/plans/notes-api.md
planctl use docs/plans/notes-api.md
step next 3
planctl next 3
step start 1.2; planctl start 1.2
step complete 1.2; planctl complete 1.2
step complete 1.1; planctl complete 1.1
step next
planctl next
step status
planctl status
step simulate --workers 3
planctl simulate --workers 3
step sync
planctl sync
git --no-pager diff --unified=0 docs/plans/notes-api.md | grep '^[-+]-' || true
step validate docs/plans/search-tuning.md
planctl validate docs/plans/search-tuning.md
step "simulate --plan docs/plans/search-tuning.md --workers 2"
planctl simulate --plan docs/plans/search-tuning.md --workers 2
