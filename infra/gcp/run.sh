#!/usr/bin/env bash
# --dry-run support of the GCP scripts (sourced by env.sh, and by build-function.sh which needs no project).
# A script sets DRY_RUN=1 (its --dry-run flag) before sourcing this file; DRY_RUN is exported, so the scripts it
# calls dry-run too. On a dry run every command that would change or ask something is printed instead, shell-quoted
# on one line, and nothing is called: no gcloud, bq, aws or curl is needed on PATH. Lines starting with `#` are
# notes (a file's content, a value a command would print), not commands.
DRY_RUN="${DRY_RUN:-0}"
export DRY_RUN

# run COMMAND…: run it, or print it on a dry run.
run() {
  if [[ "$DRY_RUN" == 1 ]]; then
    printf '%q ' "$@"
    printf '\n'
  else
    "$@"
  fi
}
# run_quiet COMMAND…: run it with its output discarded, or print it on a dry run.
run_quiet() {
  if [[ "$DRY_RUN" == 1 ]]; then run "$@"; else "$@" >/dev/null; fi
}
# exists COMMAND…: an existence probe; always false on a dry run (everything is printed as created).
exists() {
  [[ "$DRY_RUN" == 0 ]] && "$@" >/dev/null 2>&1
}
# capture NAME PLACEHOLDER COMMAND…: NAME=$(COMMAND…). On a dry run NAME is PLACEHOLDER (what COMMAND would print)
# and COMMAND is printed, or, when it is one of our own *.sh scripts, run: it dry-runs and prints its own commands.
capture() {
  local name="$1" placeholder="$2" out
  shift 2
  if [[ "$DRY_RUN" == 1 ]]; then
    if [[ "$1" == *.sh ]]; then "$@"; else run "$@"; fi
    out="$placeholder"
  else
    out="$("$@")" || return
  fi
  printf -v "$name" '%s' "$out"
}
# note TEXT…: a `#` line on a dry run (nothing otherwise).
note() {
  if [[ "$DRY_RUN" == 1 ]]; then printf '# %s\n' "$*"; fi
}
