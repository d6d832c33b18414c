// The browser's track-record verifier against the golden vectors the Rust core generates
// (tests/vectors/track-records.json): valid bundles verify and report what the core reports,
// failing ones fail at the very check the core names. Run: npm test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { parseRecord, parseVerifierKey } from "../dist/verify.js";
import { canonicalize } from "../dist/jcs.js";
import { TrackRecordError, verifyTrackRecord } from "../dist/trackrecord.js";

const vectors = fileURLToPath(new URL("../../../../tests/vectors/", import.meta.url));
const v = JSON.parse(readFileSync(vectors + "track-records.json", "utf8"));
const trusted = async () => [await parseVerifierKey(v.log_vkey)];

/** What the vectors' `expect` records of a verified bundle. */
const report = (t) => ({
  count: t.count,
  first_seq: t.firstSeq,
  span: t.span,
  complete_until: t.completeUntil,
  closed: t.closed,
  gaps: t.gaps,
  signed_by: t.records.map((e) => e.key?.keyId ?? null),
});

async function verdict(bundle, keys) {
  try {
    return { report: report(await verifyTrackRecord(bundle, keys)) };
  } catch (e) {
    if (!(e instanceof TrackRecordError)) throw e;
    return { check: e.check, message: e.message };
  }
}

test("track-record cases: the same verdict, at the same check, as provlog-core", async () => {
  const keys = await trusted();
  assert.ok(v.cases.length >= 19);
  const seen = new Set();
  for (const c of v.cases) {
    // The parsed bundle and its JSON text verify alike.
    for (const bundle of [c.bundle, JSON.stringify(c.bundle)]) {
      const got = await verdict(bundle, keys);
      if (c.valid) {
        assert.equal(got.check, undefined, `${c.desc}: ${got.message}`);
        assert.deepEqual(got.report, c.expect, c.desc);
      } else {
        assert.equal(got.check, c.error, `${c.desc}: ${got.message ?? "verified"}`);
        seen.add(got.check);
      }
    }
  }
  assert.equal(seen.size, new Set(v.cases.filter((c) => !c.valid).map((c) => c.error)).size);
});

test("a verified bundle's records are the window's, in sequence order, with their keys", async () => {
  const middle = v.cases.find((c) => c.desc === "a time window in the middle");
  const t = await verifyTrackRecord(middle.bundle, await trusted());
  assert.deepEqual(t.records.map((e) => e.seq), [3, 4, 5]);
  assert.ok(t.records.every((e, i) => i === 0 || e.leafIndex > t.records[i - 1].leafIndex));
  assert.equal(t.records[0].key.added.leafIndex < t.records[0].leafIndex, true);
  assert.equal(t.source, "acme-signals");
  assert.equal(t.checkpoint.size, 12n);
});

test("bundles are read as strictly as serde reads them: shape errors are parse", async () => {
  const keys = await trusted();
  const base = v.cases.find((c) => c.desc === "a time window in the middle").bundle;
  const edit = (f) => {
    const b = structuredClone(base);
    f(b);
    return b;
  };
  const parse = [
    edit((b) => (b.extra = 1)),
    edit((b) => delete b.after),
    edit((b) => (b.window.until = "2025-11-24T16:00:09Z")),
    edit((b) => (b.window.from_seq = -1)),
    edit((b) => (b.records[0].leaf_hash = b.records[0].inclusion_proof[0])),
    edit((b) => (b.records[0].inclusion_proof[0] = "AAAA")),
    edit((b) => (b.source = "Acme")),
    edit((b) => (b.evidence = null)),
    edit((b) => (b.evidence.k1.extra = 1)),
    edit((b) => delete b.evidence.k1.key_added.leaf_index),
    edit((b) => (b.anchor = { chain_id: 1 })),
    edit((b) => (b.checkpoint = "\ud800")),
  ];
  for (const b of parse) assert.equal((await verdict(b, keys)).check, "parse", JSON.stringify(b).slice(0, 80));
  const text = JSON.stringify(base);
  assert.equal((await verdict(`${text.slice(0, -1)},"format":"provlog-track-record/v1"}`, keys)).check, "parse");
  assert.equal((await verdict("{", keys)).check, "parse");
  // serde takes an explicit null for an optional member as absent.
  const nulls = edit((b) => {
    b.anchor = null;
    b.window.from_seq = null;
    b.evidence.k1.key_retired = null;
  });
  assert.deepEqual((await verdict(nulls, keys)).report, v.cases.find((c) => c.desc === "a time window in the middle").expect);
  // A key id is a plain map key, never an object's inherited member.
  const proto = edit((b) => (b.evidence = JSON.parse(`{"__proto__":${JSON.stringify(b.evidence.k1)}}`)));
  assert.equal((await verdict(proto, keys)).check, "source_key_evidence");
});

test("v2 records: the chain rules of the core's check_chain, and v1 still reads", () => {
  const bundle = v.cases.find((c) => c.desc === "the whole history, closed").bundle;
  const first = JSON.parse(bundle.records[0].record);
  const later = JSON.parse(bundle.records[2].record);
  const close = JSON.parse(bundle.after.record);
  assert.equal(first.seq, 0);
  assert.equal(close.kind, "close");
  for (const r of [first, later, close]) assert.equal(parseRecord(canonicalize(r)).v, 2);
  const refused = (r, reason) => assert.throws(() => parseRecord(canonicalize(r)), reason);
  const without = (r, ...keys) => Object.fromEntries(Object.entries(r).filter(([k]) => !keys.includes(k)));
  refused(without(later, "seq"), /invalid seq: required in format v2/);
  refused(without(later, "prev"), /invalid prev: required when seq > 0/);
  refused({ ...first, prev: later.prev }, /invalid prev: a source's first record \(seq 0\) has no prev/);
  // As in the core, 2^53 is refused by the JSON rules before the record's.
  refused({ ...later, seq: 2 ** 53 }, /\$\.seq: integer beyond/);
  refused({ ...later, seq: -1 }, /invalid seq/);
  refused({ ...later, seq: 1.5 }, /invalid seq/);
  refused({ ...later, prev: "AAAA" }, /invalid prev/);
  refused({ ...later, v: 1 }, /format v1 has no seq or prev/);
  refused({ ...without(first, "seq"), v: 1, prev: later.prev }, /format v1 has no seq or prev/);
  refused({ ...without(close, "seq", "prev"), v: 1 }, /close records are format v2/);
  refused({ ...close, content: { ...close.content, items: 2 } }, /a close is exactly one item/);
  refused({ ...later, v: 3 }, /unsupported record version 3/);
  const v1 = { ...without(later, "seq", "prev"), v: 1 };
  assert.equal(parseRecord(canonicalize(v1)).v, 1);
  // Canonical key order puts prev after parents and seq after received_at.
  const text = bundle.records[2].record;
  assert.ok(text.indexOf('"parents"') < text.indexOf('"prev"') && text.indexOf('"prev"') < text.indexOf('"received_at"'));
  assert.ok(text.indexOf('"received_at"') < text.indexOf('"seq"') && text.indexOf('"seq"') < text.indexOf('"source"'));
});
