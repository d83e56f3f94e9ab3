#!/usr/bin/env bash
# The playbook's rollback script, as its command line:
#   scripts/rollback_terraform.sh [--dry-run] [--apply] [--target-version REF] [--env NAME]
# Dry-run by default; REF defaults to HEAD~1. It prints the audit header, then forwards to
# `ohpen rollback terraform`, where everything else lives (checked, recorded, tested).
set -euo pipefail

mode="--dry-run"
target="HEAD~1"
env="${OHPEN_ENV:-}"
rest=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) mode="--dry-run" ;;
        --apply) mode="--apply" ;;
        --target-version) target="${2:?--target-version needs a REF}"; shift ;;
        --target-version=*) target="${1#*=}" ;;
        --env) env="${2:?--env needs a NAME}"; shift ;;
        --env=*) env="${1#*=}" ;;
        *) rest+=("$1") ;;
    esac
    shift
done

echo "timestamp: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "current HEAD: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
echo "target ref: ${target}"
echo "dry-run: $([ "$mode" = "--dry-run" ] && echo yes || echo no)"

exec "${OHPEN_PYTHON:-python3}" -m pytest_ohpen.cli rollback terraform \
    ${env:+--env "$env"} --target-version "$target" "$mode" ${rest[@]+"${rest[@]}"}
