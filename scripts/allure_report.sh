#!/usr/bin/env bash
# The HTML report of a run's Allure results, offline (Allure 3: Node only, no Java):
#   scripts/allure_report.sh RESULTS_DIR OUT_DIR
# e.g. scripts/allure_report.sh allure-results/smoke allure-report/smoke, then open
# OUT_DIR/index.html through a web server (`npx --prefix .ci/node allure open OUT_DIR`).
#
# The Allure 3 CLI is, in this order: $ALLURE, .ci/node's (installed by
#   npm install --prefix .ci/node --no-audit --no-fund allure@3
# as .ci/run does), or `allure` on PATH, which must be 3.x (Allure 2's CLI needs Java and
# takes other arguments). ALLURE_NO_ANALYTICS=true is set; the Awesome report's page still
# carries a Google Analytics tag in Allure 3.18 whatever that variable says, so the tag is
# removed from index.html: the report never calls out when opened.
# OUT_DIR is replaced when it holds an earlier Allure report; any other non-empty OUT_DIR
# is refused. Exit 0 on success, 2 on a usage error or a missing CLI, else the CLI's code.
set -euo pipefail

usage="usage: scripts/allure_report.sh RESULTS_DIR OUT_DIR"
if [ $# -ne 2 ]; then
    echo "$usage" >&2
    exit 2
fi
results="$1"
out="${2%/}"
if [ ! -d "$results" ]; then
    echo "allure_report.sh: no results directory '$results' (pytest --alluredir DIR writes one)" >&2
    exit 2
fi
if [ -z "$(find "$results" -maxdepth 1 -name '*-result.json' -print -quit)" ]; then
    echo "allure_report.sh: '$results' holds no Allure results (*-result.json)" >&2
    exit 2
fi
if [ -z "$out" ]; then
    echo "$usage" >&2
    exit 2
fi
if [ -e "$out" ] && [ ! -d "$out" ]; then
    echo "allure_report.sh: '$out' exists and is not a directory" >&2
    exit 2
fi
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && ! { [ -f "$out/index.html" ] && [ -f "$out/summary.json" ]; }; then
    echo "allure_report.sh: '$out' is not empty and holds no earlier Allure report; not touching it" >&2
    exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${ALLURE:-}" ]; then
    allure="$ALLURE"
elif [ -x "$root/.ci/node/node_modules/.bin/allure" ]; then
    allure="$root/.ci/node/node_modules/.bin/allure"
elif command -v allure >/dev/null 2>&1; then
    allure="$(command -v allure)"
else
    echo "allure_report.sh: no Allure 3 CLI; install it with" >&2
    echo "  npm install --prefix .ci/node --no-audit --no-fund allure@3" >&2
    exit 2
fi
version="$("$allure" --version 2>/dev/null | head -n 1 || true)"
case "$version" in
    3.*) ;;
    *)
        echo "allure_report.sh: $allure is not Allure 3 (version: ${version:-unknown})" >&2
        exit 2
        ;;
esac

export ALLURE_NO_ANALYTICS=true
# Generate next to OUT_DIR, then swap it in: a failed generation leaves OUT_DIR as it was.
mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d "${out}.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
"$allure" awesome "$results" --output "$tmp" --report-name "${ALLURE_REPORT_NAME:-pytest-ohpen}"

index="$tmp/index.html"
"${OHPEN_PYTHON:-python3}" - "$index" <<'EOF'
import re
import sys

path = sys.argv[1]
with open(path, encoding="utf-8") as page:
    html = page.read()
html = re.sub(
    r'\s*<script async src="https://www\.googletagmanager\.com/[^"]*"></script>'
    r"\s*<script>\s*window\.dataLayer.*?</script>",
    "",
    html,
    flags=re.S,
)
if "googletagmanager" in html or "gtag(" in html:
    sys.exit(f"allure_report.sh: could not remove the analytics tag from {path}")
with open(path, "w", encoding="utf-8") as page:
    page.write(html)
EOF

if [ -d "$out" ]; then
    rm -rf "$out"
fi
mv "$tmp" "$out"
trap - EXIT
echo "HTML report: $out/index.html (Allure $version)"
