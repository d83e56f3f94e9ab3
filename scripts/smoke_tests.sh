#!/usr/bin/env bash
# The playbook's smoke test script: scripts/smoke_tests.sh [ENV] (default: $OHPEN_ENV).
# Forwards to the smoke suite; exit 0 when every check passed (after its retry), 1 when any
# failed. SMOKE_INVOKE_LAMBDA=1 also invokes the Lambda, as in the playbook.
set -euo pipefail
env="${1:-${OHPEN_ENV:-}}"
[ -n "$env" ] || { echo "usage: $0 ENV (or set OHPEN_ENV), e.g. $0 local" >&2; exit 2; }
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."
exec "${OHPEN_PYTHON:-python3}" -m pytest suites/smoke --env "$env" "$@"
