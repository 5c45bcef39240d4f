#!/usr/bin/env bash
# npm run test:peers: the differential suite against the real Sigstore tools, end to end.
#   1. peers/build-tools.sh   build the pinned tools, or reuse the cache (and the Python venv)
#   2. npm run build          sigverify's CLI (dist/cli/bin.js)
#   3. peers/stack.sh start   the private Sigstore and registries on 127.0.0.1
#   4. peers/differential.ts  every case, cosign / sigstore-go / sigverify verdicts
#   5. peers/monitor.ts       sigverify log audit on the real Rekor v1 and v2 (planted entries, forks)
#   6. peers/stack.sh stop    by the PIDs recorded at start, also on failure (trap)
# Needs: peers/install-deps.sh once (root), Go (see peers/README.md), npm ci.
# Exit status: the suite's (1 on an unexplained disagreement, 2 on an infrastructure
# failure), or the failing step's.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO"
t0=$(date +%s)
step() { printf '\n== test:peers: %s (%d s)\n' "$*" "$(( $(date +%s) - t0 ))"; }

# One stack per machine (its ports are fixed): concurrent runs queue on a lock.
exec 9>"${SIGVERIFY_STACK_LOCK:-/tmp/sigverify-stack.lock}"
flock -w 3600 9 || { echo "test:peers: another run holds the stack lock for an hour" >&2; exit 2; }

step "tools"
"$HERE/build-tools.sh"
step "sigverify build"
npm run --silent build
[ -x node_modules/.bin/node ] || { echo "test:peers: run npm ci first (node_modules/.bin/node)" >&2; exit 2; }

step "stack start"
trap '"$HERE/stack.sh" stop >/dev/null 2>&1 || echo "test:peers: stack stop failed" >&2' EXIT
"$HERE/stack.sh" start

step "differential"
rc=0
node_modules/.bin/node "$HERE/differential.ts" || rc=$?
step "monitor"
mrc=0
node_modules/.bin/node "$HERE/monitor.ts" || mrc=$?
[ "$rc" != 0 ] || rc=$mrc
step "done, exit $rc"
exit "$rc"
