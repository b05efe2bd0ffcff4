#!/usr/bin/env bash
# Assemble this service's deployable source in .build/gcp-alerts (or $1): see infra/gcp/build-function.sh.
exec "$(dirname "$0")/../../infra/gcp/build-function.sh" gcp-alerts "$@"
