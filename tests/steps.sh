# Sourced by .ci/run and tests/all.sh: `step NAME` starts a named step (closing the one before),
# and on exit the wall time of every step and the total are printed, so a slow step shows
# itself in every run, passing or failing.
# shellcheck shell=bash

steps_started=$(date +%s)
steps_names=()
steps_seconds=()
steps_current=""
steps_current_started=0

steps_close() {
  if [ -n "$steps_current" ]; then
    steps_names+=("$steps_current")
    steps_seconds+=($(($(date +%s) - steps_current_started)))
    steps_current=""
  fi
}

step() {
  steps_close
  steps_current="$*"
  steps_current_started=$(date +%s)
  printf '\n== %s\n' "$*"
}

steps_report() {
  local status=$? i
  steps_close
  printf '\n== wall time per step (%s)\n' "${steps_title:-$0}"
  for i in "${!steps_names[@]}"; do
    printf '%6ss  %s\n' "${steps_seconds[$i]}" "${steps_names[$i]}"
  done
  printf '%6ss  total%s\n' "$(($(date +%s) - steps_started))" "$([ "$status" = 0 ] || echo " (failed, exit $status)")"
  return "$status"
}
