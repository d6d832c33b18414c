#!/usr/bin/env bash
# The reliability, security and scale harness at full size (docs/RELIABILITY.md): every test at
# the issue's figures, one after the other, each printing one summary line. CI runs the same
# tests at bounded sizes (tests/all.sh); this is the command that produced the figures in
# docs/RELIABILITY.md and the scale table in docs/BENCHMARKS.md.
#
# Usage: tests/reliability/run.sh [STEP ...]
#   steps: crash db chain replicas input security scale (default: all, in this order)
# Needs what tests/all.sh needs (PostgreSQL at DATABASE_URL, npm ci in contracts/), plus the
# pinned tools that .ci/run installs (schemathesis, cargo-fuzz with the nightly toolchain).
# The scale step builds and uses the release binary; the others the dev profile, like CI.
# Writes every test's output to tests/reliability/out/<step>.log and the summary lines to
# tests/reliability/out/summary.txt (both gitignored).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$root/tests/reliability/out"
mkdir -p "$out"
summary="$out/summary.txt"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(crash db chain replicas input security scale)
tests/tools.sh

{
  echo "# provlog reliability run, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo "# machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB," \
    "$(psql -At "$DATABASE_URL" -c 'SHOW server_version') PostgreSQL, $(rustc --version), anvil $(contracts/node_modules/.bin/anvil --version | head -1 | awk '{print $3}')"
} | tee "$summary"

# Runs one e2e test file with extra environment; keeps the summary lines starting with $prefix.
cargo_test() {
  local step="$1" test="$2" prefix="$3"
  shift 3
  echo "== $step: cargo test -p provlog-e2e --test $test ($*)"
  env "$@" cargo test -p provlog-e2e --locked --test "$test" -- --nocapture 2>&1 | tee "$out/$step.log"
  grep -E "^$prefix" "$out/$step.log" >> "$summary"
}

for step in "${steps[@]}"; do
  case "$step" in
    crash)
      cargo_test crash crash "crash:" PROVLOG_CRASH_ROUNDS=100 PROVLOG_CRASH_RECEIPTS=all ;;
    db)
      cargo_test db db_faults "db-faults" PROVLOG_DBFAULT_RESTARTS=10 PROVLOG_DBFAULT_LOAD_MS=5000 \
        PROVLOG_DBFAULT_DOWN_MS=5000 PROVLOG_DBFAULT_LOCK_MS=10000 PROVLOG_DBFAULT_RECEIPTS=2000 ;;
    chain)
      cargo_test chain chain_faults "chain-faults:" PROVLOG_CHAIN_OUTAGE_S=60 PROVLOG_CHAIN_WRONG_S=30 ;;
    replicas)
      cargo_test replicas replicas "replicas:" PROVLOG_REPLICA_KILLS=10 PROVLOG_REPLICA_RECEIPTS=all ;;
    input)
      cargo_test input bad_input "bad-input:" PROVLOG_BAD_INPUT_ROUNDS=10
      cargo build --locked -p provlog-cli
      echo "== input: tests/reliability/schemathesis.sh (100 examples per operation and phase)"
      PROVLOG_BIN="$target/debug/provlog" PROVLOG_SCHEMATHESIS_EXAMPLES=100 \
        tests/reliability/schemathesis.sh 2>&1 | tee "$out/schemathesis.log"
      grep -E "^schemathesis:" "$out/schemathesis.log" >> "$summary"
      echo "== input: tests/reliability/fuzz.sh (300 s per target)"
      PROVLOG_FUZZ_SECONDS=300 tests/reliability/fuzz.sh 2>&1 | tee "$out/fuzz.log"
      grep -E "^fuzz:" "$out/fuzz.log" >> "$summary" ;;
    security)
      cargo_test security security "security-" PROVLOG_SECURITY_FULL=1 ;;
    scale)
      echo "== scale: release build, then tests/reliability/scale.sh to 10,000,000 records"
      cargo build --release --locked -p provlog-cli
      PROVLOG_BIN="$target/release/provlog" PROVLOG_SCALE_MAX="${PROVLOG_SCALE_MAX:-10000000}" \
        PROVLOG_SCALE_RECEIPTS=20000 tests/reliability/scale.sh 2>&1 | tee "$out/scale.log"
      grep -E "^scale: grew" "$out/scale.log" >> "$summary" ;;
    *)
      echo "unknown step $step (crash db chain replicas input security scale)" >&2
      exit 2 ;;
  esac
done
echo
echo "== summary ($summary)"
cat "$summary"
