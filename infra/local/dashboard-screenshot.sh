#!/usr/bin/env bash
# Regenerates docs/dashboard.png (`make screenshot`; the tests never run it): a 14-day demo home with a fixed seed
# and dates, so the picture changes only when the dashboard does; its `wattline report`; a screenshot of the top of
# the page (every chart panel) in headless Chromium.
#   infra/local/dashboard-screenshot.sh [OUT.png]     default docs/dashboard.png
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WATTLINE="${WATTLINE:-$ROOT/.venv/bin/wattline}"
OUT="$(realpath -m "${1:-$ROOT/docs/dashboard.png}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 14 days: the forecast needs 14 complete local days, so its panel shows a chart rather than its reason.
"$WATTLINE" demo --home "$work/home" --days 14 --seed 7 --today 2026-11-30 > "$work/demo.log"
"$WATTLINE" report --home "$work/home" --out "$work/report.html"
bash "$ROOT/infra/local/headless-chromium.sh" "$work/profile" "--screenshot=$OUT" --window-size=1300,3450 \
  "file://$work/report.html" 2> "$work/chromium.log"
echo "$OUT: $(stat -c %s "$OUT") bytes"
