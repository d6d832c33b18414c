#!/usr/bin/env bash
# Every test of provlog, from a clean clone: Rust (unit, property, integration, CLI), the
# Solidity contracts (forge unit, fuzz and golden-vector tests), the explorer's TypeScript
# verifier (node, golden vectors), the Python verifier SDK (pytest, golden vectors), the explorer in headless Chromium (needs /usr/bin/chromium;
# .ci/run installs it), and the reliability harness at bounded sizes: the e2e crash, fault,
# failover, bad-input and security tests run with the Rust tests; schemathesis, a small scale
# run and the cargo-fuzz targets after them (tests/reliability/run.sh runs all at full size).
# Installs the pinned npm packages from their lockfiles, and the pinned tools of tests/tools.sh,
# when missing or out of date.
# Under CI=true the contracts run their CI profile (more fuzz runs) and the committed ABI +
# bytecode artifact is checked against a fresh compile.
#
# tests/all.sh --quick is the inner loop (CONTRIBUTING.md): fmt, clippy, the Rust tests of every
# crate but the e2e one (unit, property, golden-vector, store, server, CLI, chain) and the
# explorer's node tests. It installs nothing, and runs no e2e, fault, fuzz, forge or browser step.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

quick=false
case "${1:-}" in
  "") ;;
  --quick) quick=true ;;
  *) echo "usage: tests/all.sh [--quick]" >&2; exit 2 ;;
esac

# shellcheck source=tests/steps.sh
. "$root/tests/steps.sh"
steps_title="tests/all.sh${1:+ $1}"
logs="$(mktemp -d)"
trap 'steps_report; rm -rf "$logs"' EXIT

# Store and server tests create a fresh database per test on this server.
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if command -v pg_isready >/dev/null && ! pg_isready -q -d "$DATABASE_URL"; then
  step "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -q -d "$DATABASE_URL" && break; sleep 1; done
fi

if $quick; then
  # The chain and anchoring tests need anvil, the explorer's tests nothing installed.
  if [ ! -x contracts/node_modules/.bin/anvil ]; then
    echo "tests/all.sh --quick installs nothing: run 'npm ci --prefix contracts' (or tests/all.sh) once" >&2
    exit 2
  fi
  step "cargo fmt --check"
  cargo fmt --all -- --check
  step "cargo clippy --all-targets -D warnings"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  step "explorer: verifier tests (node)"
  (cd crates/provlog-server/explorer && npm test) 2>&1 | tee "$logs/explorer.log"
  step "Rust: cargo test --workspace --exclude provlog-e2e"
  cargo test --workspace --exclude provlog-e2e --locked 2>&1 | tee "$logs/cargo.log"
  rust_passed=$(grep -oE 'test result: ok\. [0-9]+ passed' "$logs/cargo.log" | awk '{s+=$4} END {print s+0}')
  ts_passed=$(grep -oE '^# pass [0-9]+' "$logs/explorer.log" | awk '{print $3+0}')
  printf '\nrust: %s passed, 0 failed\nexplorer verifier (node): %s passed, 0 failed\n' "$rust_passed" "$ts_passed"
  echo "quick: $((rust_passed + ts_passed)) passed, 0 failed"
  exit 0
fi

# npm ci in $1 unless its node_modules already matches its lockfile (a stamp of the lock's hash).
npm_install() {
  local dir="$1" what="$2" lock_sum stamp
  lock_sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  stamp="$dir/node_modules/.provlog-lock.sha256"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
    step "installing $what (npm ci in $dir/)"
    (cd "$dir" && npm ci --no-audit --no-fund)
    echo "$lock_sum" > "$stamp"
  fi
}
npm_install contracts "the pinned EVM toolchain"
npm_install crates/provlog-server/explorer "the explorer's pinned TypeScript compiler"
npm_install tests/browser "playwright-core (drives the system's Chromium)"

# The explorer's scripts are committed compiled (the server embeds them): fail when stale,
# then hold its receipt verifier to the core's golden vectors.
step "explorer: committed dist/ matches a fresh tsc, verifier tests (node)"
(cd crates/provlog-server/explorer && npm run --silent check && npm test) 2>&1 | tee "$logs/explorer.log"

# The Python verifier SDK, installed as a user installs it (pip install ./sdk/python) into a
# virtualenv with the pinned versions (sdk/python/constraints.txt), held to the same vectors.
step "Python SDK: pip install ./sdk/python, pytest, mypy --strict"
pyvenv="${PROVLOG_PYVENV:-/var/tmp/provlog-pyvenv}"
pins="$(sha256sum sdk/python/constraints.txt | cut -d' ' -f1)"
if [ "$(cat "$pyvenv/.provlog-constraints.sha256" 2>/dev/null)" != "$pins" ]; then
  rm -rf "$pyvenv"
  python3 -m venv "$pyvenv"
  "$pyvenv/bin/pip" install --quiet --disable-pip-version-check -r sdk/python/constraints.txt
  echo "$pins" > "$pyvenv/.provlog-constraints.sha256"
fi
"$pyvenv/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
  --force-reinstall ./sdk/python
(cd sdk/python && "$pyvenv/bin/python" -m pytest -q -p no:cacheprovider --import-mode=importlib tests \
  && "$pyvenv/bin/mypy" --strict --no-incremental src/provlog examples) 2>&1 | tee "$logs/python.log"

step "Rust: cargo test --workspace"
cargo test --workspace --locked 2>&1 | tee "$logs/cargo.log"

step "Solidity: forge test"
script=test
[ "${CI:-}" = "true" ] && script=test:ci
(cd contracts && npm run --silent "$script") 2>&1 | tee "$logs/forge.log"

# The explorer in headless Chromium against a real `provlog dev` log (anchoring, demo data).
step "browser: the explorer in headless Chromium (playwright-core)"
cargo build -p provlog-cli --locked
PROVLOG_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/provlog" node tests/browser/explorer.mjs 2>&1 | tee "$logs/browser.log"

# The API against its OpenAPI document (schemathesis), then provlog-core's fuzz targets, at
# their CI sizes (tests/reliability/*.sh name the variables of the full runs).
step "reliability: pinned tools (tests/tools.sh: schemathesis, cargo-fuzz)"
tests/tools.sh
step "reliability: schemathesis against /openapi.json"
PROVLOG_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/provlog" tests/reliability/schemathesis.sh 2>&1 | tee "$logs/schemathesis.log"
step "reliability: a small scale run (tests/reliability/scale.sh, 10,000 records)"
PROVLOG_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/provlog" tests/reliability/scale.sh 2>&1 | tee "$logs/scale.log"
step "reliability: cargo-fuzz targets of provlog-core"
tests/reliability/fuzz.sh 2>&1 | tee "$logs/fuzz.log"

# One closing line for all runners (each already failed the script if a test failed).
rust_passed=$(grep -oE 'test result: ok\. [0-9]+ passed' "$logs/cargo.log" | awk '{s+=$4} END {print s+0}')
sol_passed=$(grep -oE '[0-9]+ tests passed' "$logs/forge.log" | tail -1 | awk '{print $1+0}')
ts_passed=$(grep -oE '^# pass [0-9]+' "$logs/explorer.log" | awk '{print $3+0}')
py_passed=$(grep -oE '^[0-9]+ passed' "$logs/python.log" | tail -1 | awk '{print $1+0}')
browser_passed=$(grep -oE 'explorer browser test: [0-9]+ passed' "$logs/browser.log" | awk '{print $4+0}')
# schemathesis: one check per operation it tested; fuzz: one per target run without a crash.
st_passed=$(grep -oE '^schemathesis: [0-9]+ cases over [0-9]+ operations' "$logs/schemathesis.log" | awk '{print $5+0}')
fuzz_passed=$(grep -cE '^fuzz: [a-z_]+ [0-9]+ execs' "$logs/fuzz.log" || true)
scale_passed=$(grep -cE '^scale: grew' "$logs/scale.log" || true)
printf '\nrust: %s passed, 0 failed\nsolidity: %s passed, 0 failed\n' "$rust_passed" "$sol_passed"
printf 'python sdk (pytest): %s passed, 0 failed\n' "$py_passed"
printf 'explorer verifier (node): %s passed, 0 failed\nbrowser (Chromium): %s checks passed, 0 failed; screenshots in tests/browser/artifacts/\n' "$ts_passed" "$browser_passed"
printf 'schemathesis: %s operations passed, 0 failed (%s)\nfuzz: %s targets passed, 0 crashed\nscale: %s run passed\n' \
  "$st_passed" "$(grep -oE '^schemathesis: [0-9]+ cases' "$logs/schemathesis.log" | awk '{print $2" generated cases"}')" "$fuzz_passed" "$scale_passed"
echo "total: $((rust_passed + sol_passed + ts_passed + py_passed + browser_passed + st_passed + fuzz_passed + scale_passed)) passed, 0 failed"
