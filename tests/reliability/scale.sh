#!/usr/bin/env bash
# Scale: grows one log through the API to PROVLOG_SCALE_MAX records (default 10,000 for CI; the
# issue's full run is 10,000,000) and, at every power of ten from 1,000 on, measures:
#   - receipt latency and rate (`provlog bench receipts`, random records of the whole log), with
#     every 100th receipt verified by provlog-core;
#   - storage: the database's size, and the records / nodes tables with their indexes, per record;
# and at the end the time to restart on the full log: SIGTERM, then kill -9 (which also waits
# out the dead leader's lease), each until the new process listens, serves a checkpoint of the
# whole log, a verified receipt and an acknowledged write.
#
# Usage: tests/reliability/scale.sh            (needs PostgreSQL at DATABASE_URL's server)
#   PROVLOG_SCALE_MAX=10000000 PROVLOG_BIN=target/release/provlog tests/reliability/scale.sh
# Prints one table (markdown) and a summary line starting with `scale:`; exits non-zero if any
# step fails, a receipt does not verify, or the log does not come back whole after a restart.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${PROVLOG_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/provlog}"
max="${PROVLOG_SCALE_MAX:-10000}"
receipts="${PROVLOG_SCALE_RECEIPTS:-5000}"
admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# `provlog serve` refuses PROVLOG_* settings it does not know (such as this script's own).
for v in $(compgen -v PROVLOG_); do unset "$v"; done
[ -x "$bin" ] || { echo "scale: no provlog binary at $bin (cargo build -p provlog-cli, or PROVLOG_BIN)" >&2; exit 2; }

work="$(mktemp -d)"
db="provlog_scale_$$"
db_url="${admin_url%/*}/$db"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  [ -z "${PROVLOG_SCALE_KEEP:-}" ] && psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
psql -q "$admin_url" -c "CREATE DATABASE \"$db\""

origin="scale.example/provlog"
"$bin" keygen --name "$origin" --out "$work/log.key" > "$work/log.vkey"
head -c 24 /dev/urandom | base64 > "$work/admin.token"
chmod 600 "$work/admin.token"

# Starts `provlog serve` on a free port; sets $pid and $url.
start() {
  : > "$work/stderr"
  PROVLOG_LISTEN=127.0.0.1:0 PROVLOG_DATABASE_URL="$db_url" PROVLOG_ORIGIN="$origin" \
    PROVLOG_SIGNING_KEY_FILE="$work/log.key" PROVLOG_ADMIN_TOKEN_FILE="$work/admin.token" \
    PROVLOG_LOG=warn "$bin" serve >> "$work/server.log" 2> "$work/stderr" &
  pid=$!
  for _ in $(seq 600); do
    url="$(sed -n 's/^provlog listening on //p' "$work/stderr" | head -1)"
    [ -n "$url" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
    sleep 0.05
  done
  echo "scale: provlog serve did not listen within 30 s" >&2; exit 1
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
log_info() { curl -sf "$url/v1/log"; }
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }

# Waits until a signed checkpoint covers everything sequenced; prints the size.
settle() {
  for _ in $(seq 6000); do
    if info="$(log_info)"; then
      read -r size cp integ <<< "$(json "d['size'], d['checkpoint_size'], d['integrated_size']" <<< "$info")"
      if [ "$size" = "$cp" ] && [ "$size" = "$integ" ] && [ "$size" -gt 0 ]; then echo "$size"; return 0; fi
    fi
    sleep 0.1
  done
  echo "scale: no checkpoint covering the log after 10 minutes" >&2; exit 1
}

bench() { "$bin" bench --url "$url" --token-file "$work/admin.token" --json "$@"; }
mb() { python3 -c "print(f'{$1/1e6:,.1f}')"; }
n() { python3 -c "print(f'{$1:,}')"; }

start
echo "scale: $bin, up to $max records, $(nproc) cores, $(date -u +%FT%TZ)" >&2
rows=()
size=0
ingest_s=0
target=1000
while [ "$target" -le "$max" ]; do
  t0="$(now)"
  bench ingest --records "$((target - size))" --batch 1000 --concurrency 4 > "$work/ingest.json"
  size="$(settle)"
  ingest_s="$(python3 -c "print($ingest_s + $(now) - $t0)")"
  [ "$size" = "$target" ] || { echo "scale: log has $size records, wanted $target" >&2; exit 1; }
  # Statistics for the planner after the bulk growth, as autovacuum would do in time.
  psql -q "$db_url" -c "ANALYZE" >/dev/null
  bench receipts --requests "$receipts" --concurrency 4 --verify-every 100 > "$work/r4.json"
  bench receipts --requests "$receipts" --concurrency 16 --verify-every 100 > "$work/r16.json"
  read -r db_bytes rec_bytes node_bytes <<< "$(psql -At -F' ' "$db_url" -c \
    "SELECT pg_database_size(current_database()), pg_total_relation_size('records'), pg_total_relation_size('nodes')")"
  r4="$(json "f\"{d['p50_ms']:.2f} / {d['p99_ms']:.2f} ms, {d['ops_per_s']:,.0f}/s, {d['verified']} verified\"" < "$work/r4.json")"
  r16="$(json "f\"{d['p50_ms']:.2f} / {d['p99_ms']:.2f} ms, {d['ops_per_s']:,.0f}/s\"" < "$work/r16.json")"
  per="$(python3 -c "print(f'{$db_bytes/$size:,.0f} B (records {$rec_bytes/$size:,.0f}, nodes {$node_bytes/$size:,.0f})')")"
  rows+=("| $(n "$size") | $r4 | $r16 | $(mb "$db_bytes") MB | $per |")
  echo "scale: ${rows[-1]}" >&2
  target=$((target * 10))
done

# Restart on the whole log: until it listens, serves the checkpoint of the whole log, a
# verified receipt of an old record, and acknowledges a new write. Sets $restart.
ready() {
  local t0="$1" listen checkpoint receipt write cp=0
  start
  listen="$(since "$t0")"
  for _ in $(seq 1200); do
    cp="$(log_info 2>/dev/null | json "d['checkpoint_size']" 2>/dev/null || echo 0)"
    [ "$cp" -ge "$size" ] && break
    sleep 0.05
  done
  [ "$cp" -ge "$size" ] || { echo "scale: the restarted server lost its checkpoint" >&2; exit 1; }
  checkpoint="$(since "$t0")"
  PROVLOG_URL="$url" "$bin" receipt get 0 -o "$work/r0.json" >/dev/null 2>&1
  "$bin" verify receipt "$work/r0.json" --key "$work/log.vkey" >/dev/null
  receipt="$(since "$t0")"
  bench single --requests 1 --concurrency 1 >/dev/null
  write="$(since "$t0")"
  # Signing a checkpoint that covers the new write needs the sequencer lease: after a kill -9
  # the dead process's lease must expire first.
  size=$((size + 1))
  settle >/dev/null
  signed="$(since "$t0")"
  restart="listening ${listen} s, serving the checkpoint ${checkpoint} s, a verified receipt ${receipt} s, a write acknowledged ${write} s, and checkpointed ${signed} s"
}
full="$size"
kill -TERM "$pid"; t0="$(now)"; wait "$pid" || true
ready "$t0"; term="$restart"
kill -9 "$pid"; t0="$(now)"; wait "$pid" 2>/dev/null || true
ready "$t0"; killed="$restart"
kill -TERM "$pid"; wait "$pid" || true; pid=""

echo
echo "| leaves | receipts, 4 clients: p50 / p99, rate | 16 clients: p50 / p99, rate | database | per record |"
echo "|---:|---|---|---:|---|"
printf '%s\n' "${rows[@]}"
echo
echo "restart at $(n "$full") leaves, after SIGTERM: $term"
echo "restart at $(n "$full") leaves, after kill -9: $killed"
echo "scale: grew to $(n "$full") records through the API in $(printf '%.1f' "$ingest_s") s; restart after SIGTERM: $term; after kill -9: $killed" >&2
