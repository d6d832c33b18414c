#!/usr/bin/env bash
# Every test of provlog, from a clean clone: Rust (unit, property, integration, CLI) and the
# Solidity contracts (forge unit, fuzz and golden-vector tests). Installs the pinned EVM
# toolchain from contracts/package-lock.json when it is missing.
# Under CI=true the contracts run their CI profile (more fuzz runs) and the committed ABI +
# bytecode artifact is checked against a fresh compile.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

step() { printf '\n== %s\n' "$*"; }

if [ ! -x contracts/node_modules/.bin/forge ] ||
   ! cmp -s contracts/package-lock.json contracts/node_modules/.package-lock.json 2>/dev/null; then
  step "installing the pinned EVM toolchain (npm ci in contracts/)"
  (cd contracts && npm ci --no-audit --no-fund)
fi

step "Rust: cargo test --workspace"
cargo test --workspace --locked

step "Solidity: forge test"
if [ "${CI:-}" = "true" ]; then
  (cd contracts && npm run --silent test:ci)
else
  (cd contracts && npm run --silent test)
fi
