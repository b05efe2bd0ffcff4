#!/usr/bin/env bash
# Headless Chromium as wattline runs it on the dashboard: offline (no background networking, sync or component
# updates), a throwaway profile, console messages on stderr, 10 s of virtual time for Plotly to draw.
# One list of flags for the browser e2e test (tests/e2e/test_dashboard_browser.py) and `make screenshot`.
#   infra/local/headless-chromium.sh PROFILE_DIR --dump-dom file:///…/report.html
#   infra/local/headless-chromium.sh PROFILE_DIR --screenshot=out.png --window-size=1300,4200 file:///…/report.html
set -euo pipefail
CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z "$CHROMIUM" ]]; then
  echo "headless Chromium is not installed: apt-get install -y chromium (or make servers)" >&2
  exit 127
fi
profile="$1"
shift
exec "$CHROMIUM" \
  --headless \
  --no-sandbox \
  --disable-gpu \
  --disable-background-networking \
  --disable-component-update \
  --disable-sync \
  --no-first-run \
  "--user-data-dir=$profile" \
  --enable-logging=stderr \
  --v=0 \
  --virtual-time-budget=10000 \
  "$@"
