#!/usr/bin/env bash
# Installs the real local servers the integration tests use (see docs/local-servers.md). Idempotent.
# Debian packages are installed only when running as root (CI and the project's machines); elsewhere a
# missing server makes its tests skip with a reason, except under CI=true where this script fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=.tools
missing=()

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ ! -f "$TOOLS/.apt-updated" ]; then
      apt-get update -qq && mkdir -p "$TOOLS" && touch "$TOOLS/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

# MQTT broker (the AWS-side integration tests and `wattline demo --stack emulators`).
command -v mosquitto >/dev/null || command -v /usr/sbin/mosquitto >/dev/null || apt_install mosquitto || true
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || missing+=(mosquitto)

# jq checks the Firehose partitioning query (the jq Firehose runs); node/npm run `serverless package` offline.
command -v jq >/dev/null || apt_install jq || true
command -v jq >/dev/null || missing+=(jq)
command -v npm >/dev/null || apt_install nodejs npm || true
command -v npm >/dev/null || missing+=("node/npm")

# Headless Chromium for the dashboard test.
command -v chromium >/dev/null || apt_install chromium || true
command -v chromium >/dev/null || missing+=(chromium)

# bqemulator lives in its own venv: it pins sqlglot and protobuf versions the project does not use.
BQ="$TOOLS/bqemulator"
if [ ! -x "$BQ/bin/bqemulator" ]; then
  python3 -m venv "$BQ"
  "$BQ/bin/pip" install --quiet --disable-pip-version-check \
    bqemulator==1.4.0 duckdb==1.5.5 duckdb-extension-spatial==1.5.5 numpy
fi
if [ ! -f "$BQ/.spatial-installed" ]; then
  mkdir -p "$BQ/home"
  HOME="$PWD/$BQ/home" "$BQ/bin/python" - <<'PY'
import glob, duckdb, duckdb_extension_spatial, os
path = glob.glob(os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "extensions", "*", "spatial.duckdb_extension"))[0]
duckdb.connect().execute(f"INSTALL '{path}'")
PY
  touch "$BQ/.spatial-installed"
fi

# checkov (the templates' security scan, docs/aws.md) lives in its own venv too: it pins an older boto3.
bash infra/aws/checkov.sh --install || missing+=(checkov)

# Google's Pub/Sub emulator ships with google-cloud-cli (needs Java).
PUBSUB=/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator
{ [ -x "$PUBSUB" ] && command -v java >/dev/null; } || missing+=("pubsub-emulator (google-cloud-cli)")

if [ ${#missing[@]} -gt 0 ]; then
  echo "local servers missing: ${missing[*]}" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "their tests will be skipped" >&2
fi
