#!/usr/bin/env bash
# Every test of provlog, from a clean clone: Rust (unit, property, integration, CLI) and the
# Solidity contracts (forge unit, fuzz and golden-vector tests). Installs the pinned EVM
# toolchain from contracts/package-lock.json when it is missing or out of date.
# Under CI=true the contracts run their CI profile (more fuzz runs) and the committed ABI +
# bytecode artifact is checked against a fresh compile.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

step() { printf '\n== %s\n' "$*"; }
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# Store and server tests create a fresh database per test on this server.
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if command -v pg_isready >/dev/null && ! pg_isready -q -d "$DATABASE_URL"; then
  step "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -q -d "$DATABASE_URL" && break; sleep 1; done
fi

lock_sum="$(sha256sum contracts/package-lock.json | cut -d' ' -f1)"
stamp=contracts/node_modules/.provlog-lock.sha256
if [ ! -x contracts/node_modules/.bin/forge ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  step "installing the pinned EVM toolchain (npm ci in contracts/)"
  (cd contracts && npm ci --no-audit --no-fund)
  echo "$lock_sum" > "$stamp"
fi

step "Rust: cargo test --workspace"
cargo test --workspace --locked 2>&1 | tee "$logs/cargo.log"

step "Solidity: forge test"
script=test
[ "${CI:-}" = "true" ] && script=test:ci
(cd contracts && npm run --silent "$script") 2>&1 | tee "$logs/forge.log"

# One closing line for both runners (each already failed the script if a test failed).
rust_passed=$(grep -oE 'test result: ok\. [0-9]+ passed' "$logs/cargo.log" | awk '{s+=$4} END {print s+0}')
sol_passed=$(grep -oE '[0-9]+ tests passed' "$logs/forge.log" | tail -1 | awk '{print $1+0}')
printf '\nrust: %s passed, 0 failed\nsolidity: %s passed, 0 failed\n' "$rust_passed" "$sol_passed"
echo "total: $((rust_passed + sol_passed)) passed, 0 failed"
