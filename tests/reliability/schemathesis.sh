#!/usr/bin/env bash
# Property-based tests of the HTTP API against its own description: schemathesis (pinned,
# from PyPI) reads `/openapi.json` of a real `provlog serve` and sends generated requests —
# valid ones from the schemas and examples, and invalid ones (wrong types, missing members,
# out-of-range values, odd strings) — to every operation, with working credentials: the admin
# routes with an admin key from the bootstrap, the write routes with ingest keys for registered
# sources (so valid submissions are logged), reads with a read key.
# Checks: no 5xx (not_a_server_error), every status, content type, header and body as the
# document declares (status_code_conformance, content_type_conformance,
# response_headers_conformance, response_schema_conformance). Fails on any failure or error;
# prints one summary line:
#   schemathesis: <N> cases over <M> operations, 0 server errors, 0 failures (seed S)
#
# Settings (environment):
#   PROVLOG_SCHEMATHESIS_EXAMPLES  max examples per operation and phase (default 5, the CI
#                                  size: ~1,400 cases in about a minute; the full run is 100)
#   PROVLOG_SCHEMATHESIS_SEED      seed (default: random; printed, to replay a run)
#   PROVLOG_SCHEMATHESIS_WORKERS   concurrent workers (default 2)
#   PROVLOG_BIN                    the binary (default $CARGO_TARGET_DIR/debug/provlog)
#   PROVLOG_CI_TOOLS               the venv holding schemathesis (default /var/tmp/provlog-ci-tools,
#                                  as .ci/run builds it)
#   DATABASE_URL                   PostgreSQL server; a fresh database is created and dropped
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${PROVLOG_CI_TOOLS:-/var/tmp/provlog-ci-tools}"
st="$tools/bin/schemathesis"
bin="${PROVLOG_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/provlog}"
examples="${PROVLOG_SCHEMATHESIS_EXAMPLES:-5}"
seed="${PROVLOG_SCHEMATHESIS_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
workers="${PROVLOG_SCHEMATHESIS_WORKERS:-2}"
database_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

[ -x "$st" ] || { echo "schemathesis not found at $st (.ci/run installs it)" >&2; exit 1; }
[ -x "$bin" ] || { echo "provlog binary not found at $bin (cargo build -p provlog-cli)" >&2; exit 1; }

work="$(mktemp -d)"
db="provlog_st_$$_$RANDOM"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  psql -q "$database_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql -q "$database_url" -c "CREATE DATABASE $db" >/dev/null
db_url="${database_url%/*}/$db"
origin="example.com/provlog/schemathesis"
"$bin" keygen --name "$origin" --out "$work/log.key" >/dev/null
bootstrap="st-bootstrap-$$-$RANDOM"

: > "$work/server.out"; : > "$work/server.err"
env -u PROVLOG_CONFIG $(env | grep -oE '^PROVLOG_[A-Z_]+' | sed 's/^/-u /') \
  PROVLOG_LISTEN=127.0.0.1:0 PROVLOG_DATABASE_URL="$db_url" PROVLOG_ORIGIN="$origin" \
  PROVLOG_SIGNING_KEY_FILE="$work/log.key" PROVLOG_ADMIN_TOKEN="$bootstrap" \
  PROVLOG_CHECKPOINT_INTERVAL_MS=200 PROVLOG_WAIT_TIMEOUT_MS=2000 \
  "$bin" serve > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 600); do
  grep -q '^provlog listening on http://' "$work/server.err" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
  sleep 0.1
done
url="$(sed -n 's|^provlog listening on \(http://[^ ]*\).*|\1|p' "$work/server.err" | head -1)"
[ -n "$url" ] || { echo "provlog serve did not start" >&2; cat "$work/server.err" >&2; exit 1; }

# $1 method, $2 path, $3 token, $4 body (optional): the JSON answer; fails unless 2xx.
call() {
  curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $3" \
    ${4:+-H 'Content-Type: application/json' --data-binary "$4"} "$url$2"
}
admin="$(call POST /v1/admin/bootstrap "$bootstrap" | jq -er .token)"
# The sources the OpenAPI examples name, so the example phase's submissions are logged.
for source in acme-signals acme-grades; do
  call POST /v1/admin/sources "$admin" "{\"id\":\"$source\",\"display_name\":\"schemathesis $source\"}" >/dev/null
done
ingest_signals="$(call POST /v1/admin/keys "$admin" '{"scope":"ingest","source":"acme-signals","label":"schemathesis"}' | jq -er .token)"
ingest_grades="$(call POST /v1/admin/keys "$admin" '{"scope":"ingest","source":"acme-grades","label":"schemathesis"}' | jq -er .token)"
read_key="$(call POST /v1/admin/keys "$admin" '{"scope":"read","label":"schemathesis"}' | jq -er .token)"
# A few records, so that record, lineage, receipt and proof routes find something.
for i in 1 2 3; do
  call POST /v1/records "$ingest_signals" "{\"kind\":\"signal\",\"source\":\"acme-signals\",\"payload\":{\"n\":$i}}" >/dev/null
done
records() { psql -tAq "$db_url" -c "SELECT count(*) FROM records"; }
records_before="$(records)"

export ST_ADMIN="$admin" ST_INGEST_SIGNALS="$ingest_signals" ST_INGEST_GRADES="$ingest_grades" ST_READ="$read_key"
# NDJSON snapshot bodies are text: schemathesis sends the generated strings as they are.
cat > "$work/hooks.py" <<'PY'
import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
PY
export ST_HOOKS="$work/hooks.py"
cat > "$work/schemathesis.toml" <<'TOML'
hooks = "${ST_HOOKS}"
headers = { Authorization = "Bearer ${ST_READ}" }

[[operations]]
include-path-regex = "^/v1/admin/"
headers = { Authorization = "Bearer ${ST_ADMIN}" }

[[operations]]
include-path = "/v1/records"
include-method = "POST"
headers = { Authorization = "Bearer ${ST_INGEST_SIGNALS}" }

[[operations]]
include-path = "/v1/records/snapshot"
include-method = "POST"
headers = { Authorization = "Bearer ${ST_INGEST_GRADES}" }
TOML

status=0
(cd "$work" && "$st" --config-file "$work/schemathesis.toml" --no-color run "$url/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$examples" --seed "$seed" --workers "$workers" \
  --exclude-path /v1/admin/bootstrap \
  --request-timeout 30 \
  --report junit,ndjson --report-dir "$work/report") > "$work/st.log" 2>&1 || status=$?
cat "$work/st.log"

# The server must still be up and serving.
kill -0 "$server_pid" 2>/dev/null || { echo "provlog serve died:" >&2; tail -50 "$work/server.err" >&2; exit 1; }
call GET /healthz "$read_key" >/dev/null
records_after="$(records)"
server_errors="$(grep -c '"internal error"' "$work/server.out" || true)"

junit="$(find "$work/report" -name '*.xml' | head -1)"
operations="$(grep -o '<testcase ' "$junit" | wc -l)"
# "Test cases:" then, on the next line, "<N> generated, <N> passed".
cases="$(awk '/^Test cases:/ { getline; print $1 }' "$work/st.log" | tail -1)"
failures="$(grep -oE '<testsuite [^>]*' "$junit" | grep -oE 'failures="[0-9]+"' | grep -oE '[0-9]+' | head -1 || true)"
errors="$(grep -oE '<testsuite [^>]*' "$junit" | grep -oE 'errors="[0-9]+"' | grep -oE '[0-9]+' | head -1 || true)"
if [ "$status" -ne 0 ] || [ "${failures:-1}" -ne 0 ] || [ "${errors:-1}" -ne 0 ] || [ "$server_errors" -ne 0 ]; then
  echo "schemathesis: FAILED (exit $status, ${failures:-?} failures, ${errors:-?} errors, $server_errors internal errors logged by the server; seed $seed; replay with PROVLOG_SCHEMATHESIS_SEED=$seed)" >&2
  exit 1
fi
echo "schemathesis: ${cases:-?} cases over $operations operations, 0 server errors, 0 failures, $((records_after - records_before)) records logged (max $examples examples, seed $seed)" >&2
