#!/usr/bin/env bash
# Assemble the deployable source of one Cloud Functions service in .build/SERVICE ($BUILD_ROOT/SERVICE when
# BUILD_ROOT is set, or OUT): main.py, the service's wiring package, a vendored copy of the shared `wattline` package
# without the CLI, the local runtime, the simulator and the dashboard (Cloud Functions installs requirements.txt from
# PyPI and cannot see the uv workspace), and requirements.txt: the service's third-party runtime dependencies
# exported from uv.lock (`uv export --frozen`, every package pinned with its hashes, minus the service's
# `[tool.wattline.bundle] prune` list), so Cloud Build installs exactly the locked versions and nothing of the CLI
# (infra/bundle.py).
# Usage: infra/gcp/build-function.sh [--dry-run] SERVICE [OUT]  (SERVICE: gcp-loader, gcp-alerts; prints OUT)
# --dry-run (or DRY_RUN=1 from a calling script) prints the commands instead of running them and writes nothing.
set -euo pipefail
args=()
for arg in "$@"; do
  if [[ "$arg" == --dry-run ]]; then DRY_RUN=1; else args+=("$arg"); fi
done
set -- "${args[@]}"
source "$(dirname "$0")/run.sh"
service="${1:?usage: build-function.sh [--dry-run] SERVICE [OUT]}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/services/$service"
package="${service//-/_}"
[ -d "$here/$package" ] || { echo "no service $service (expected $here/$package)" >&2; exit 2; }
out="${2:-${BUILD_ROOT:-$repo/.build}/$service}"
run rm -rf "$out"
run mkdir -p "$out"
run python3 "$repo/infra/bundle.py" requirements "$here" "$out/requirements.txt"
run cp "$here/main.py" "$out/"
run cp -r "$here/$package" "$out/$package"
run python3 "$repo/infra/bundle.py" wattline "$out"
run find "$out" -name __pycache__ -type d -prune -exec rm -rf {} +
run find "$out" -name '*.pyc' -delete
stamp="# built $(date -u +%FT%TZ) from $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$DRY_RUN" == 1 ]]; then
  note "$out/BUILD: $stamp"
else
  printf '%s\n' "$stamp" >"$out/BUILD"
  echo "$out"
fi
