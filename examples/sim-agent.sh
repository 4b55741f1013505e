#!/bin/sh
# The simulated agent reduced to what the orchestration benchmark needs, in POSIX sh: a Node process
# costs ~100 ms of CPU to start on a small machine, which would be measured as orchestrator overhead.
#
#   sim-agent.sh <id> <estimate-minutes>
#
# Sleeps PLAN_SIM_MS_PER_MINUTE (default 10) ms per estimated minute, then appends one line to
# sim-output/<id>.txt. Fails when PLAN_SIM_FAIL (comma-separated) lists the id. For everything else
# (titles with [FAIL] or [HANG], the orchestrator-gone check) use sim-agent.mjs.
set -eu
id=$1
minutes=${2%%.*}
ms=$(( ${minutes:-60} * ${PLAN_SIM_MS_PER_MINUTE:-10} ))
sleep "$(( ms / 1000 )).$(printf '%03d' $(( ms % 1000 )))"
case ",${PLAN_SIM_FAIL:-}," in
  *",$id,"*) echo "sim-agent $id: failing on purpose" >&2; exit 1 ;;
esac
mkdir -p sim-output
echo "$id done by $$" >> "sim-output/$id.txt"
