#!/usr/bin/env bash
# Runs every cargo-fuzz target of provlog-core (crates/provlog-core/fuzz, its own workspace,
# nightly) for a fixed time each, one after the other, from the seed corpora. Fails on any
# crash, leak, timeout or out-of-memory; prints one summary line per target:
#   fuzz: <target> <runs> execs in <s> s, corpus <n> inputs, 0 crashes
#
# Settings (environment):
#   PROVLOG_FUZZ_SECONDS     seconds per target (default 15, the CI size; the full run is 300)
#   PROVLOG_FUZZ_TARGETS     space-separated targets (default: all, from `cargo fuzz list`)
#   PROVLOG_FUZZ_WORK        corpora and crash artifacts, outside the clone
#                            (default /var/tmp/provlog-fuzz; corpora grow from run to run)
#   PROVLOG_FUZZ_TARGET_DIR  the nightly, sanitizer build (default /var/tmp/provlog-fuzz-target)
#   PROVLOG_CARGO_FUZZ_ROOT  where cargo-fuzz is installed (default /var/tmp/provlog-ci-tools-cargo,
#                            as .ci/run installs it; `cargo fuzz` on PATH otherwise)
# Needs the nightly toolchain (`rustup toolchain list`).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${PROVLOG_FUZZ_SECONDS:-15}"
work="${PROVLOG_FUZZ_WORK:-/var/tmp/provlog-fuzz}"
export CARGO_TARGET_DIR="${PROVLOG_FUZZ_TARGET_DIR:-/var/tmp/provlog-fuzz-target}"
export PATH="${PROVLOG_CARGO_FUZZ_ROOT:-/var/tmp/provlog-ci-tools-cargo}/bin:$PATH"
export CARGO_TERM_COLOR=never
cd "$root/crates/provlog-core"

cargo fuzz --version >/dev/null
targets="${PROVLOG_FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"

# Seeds (examples/seeds.rs) into $work/seeds/<target>/; each run reads them and grows its own
# corpus in $work/corpus/<target>/.
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
(cd fuzz && PROVLOG_FUZZ_CORPUS="$work/seeds" cargo +nightly run --quiet --locked --example seeds) >/dev/null

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
total_runs=0
for target in $targets; do
  mkdir -p "$work/corpus/$target" "$work/seeds/$target" "$work/artifacts/$target"
  # Built once (the first run compiles; later ones are up to date).
  cargo +nightly fuzz build "$target" 2>&1 | grep -vE '^\s*(Compiling|Finished|Fresh)' || true
  status=0
  cargo +nightly fuzz run "$target" "$work/corpus/$target" "$work/seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$target/" > "$logs/$target.log" 2>&1 || status=$?
  # A run that died before libFuzzer's final stats has none of these lines: no match must not
  # end the script here (set -e, pipefail) before the log is shown below.
  runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$logs/$target.log" | grep -oE '[0-9]+$' | tail -1 || true)"
  secs="$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$logs/$target.log" | awk '{print $5}' | tail -1 || true)"
  inputs="$(find "$work/corpus/$target" -type f | wc -l)"
  if [ "$status" -ne 0 ] || [ -z "$runs" ]; then
    tail -60 "$logs/$target.log"
    echo "fuzz: $target FAILED (exit $status); crash inputs in $work/artifacts/$target/:" >&2
    ls -1 "$work/artifacts/$target/" >&2 || true
    exit 1
  fi
  total_runs=$((total_runs + runs))
  echo "fuzz: $target $runs execs in ${secs:-$seconds} s, corpus $inputs inputs, 0 crashes" >&2
done
echo "fuzz: all $(echo "$targets" | wc -w) targets, $total_runs execs at ${seconds} s each, 0 crashes" >&2
