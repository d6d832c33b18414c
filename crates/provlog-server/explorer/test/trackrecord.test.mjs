// The browser's track-record verifier against the golden vectors the Rust core generates
// (tests/vectors/track-records.json): valid bundles verify and report what the core reports,
// failing ones fail at the very check the core names. Run: npm test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { parseRecord, parseVerifierKey } from "../dist/verify.js";
import { canonicalize } from "../dist/jcs.js";
import { fromBase64, sha256, toBase64 } from "../dist/bytes.js";
import { checkReveal, commitmentDigest, ItemError, readCommitment, readReveal, TrackRecordError, verifyTrackRecord } from "../dist/trackrecord.js";

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
  commitments: t.commitments.map((c) => ({ seq: c.seq, leaf_index: Number(c.leafIndex), status: c.status })),
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
  assert.ok(v.cases.length >= 28);
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
  // So are the scoring checks.
  for (const check of ["scoring", "scoring_missing", "outcomes_missing", "outcomes_source", "outcomes_checkpoint", "outcomes_cut_short"]) {
    assert.ok(seen.has(check), check);
  }
  // The commitment checks are all among the vectors, and so is every status.
  for (const check of ["item", "not_a_commitment", "commitment_missing", "second_reveal", "reveal_does_not_open", "reveal_outside_window"]) {
    assert.ok(seen.has(check), check);
  }
  const statuses = new Set(v.cases.filter((c) => c.valid).flatMap((c) => c.expect.commitments.map((s) => s.status)));
  assert.deepEqual([...statuses].sort(), ["expired_unrevealed", "pending", "revealed"]);
});

const caseNamed = (desc) => v.cases.find((c) => c.desc === desc);
const itemOf = (entry) => fromBase64(entry.item);

test("commitments of the window: revealed (with the reveal), expired unrevealed, pending", async () => {
  const keys = await trusted();
  const c = caseNamed("commitments revealed, expired unrevealed and pending");
  const t = await verifyTrackRecord(c.bundle, keys);
  assert.deepEqual(t.commitments.map((s) => [s.seq, s.status]), [[1, "revealed"], [2, "expired_unrevealed"], [5, "pending"]]);
  const [revealed, expired, pending] = t.commitments;
  assert.deepEqual(revealed.reveal, { seq: 4, at: "2025-11-24T16:00:04.000Z", payload: { signal: 1 } });
  assert.equal(expired.reveal, undefined);
  assert.equal(pending.reveal, undefined);
  // Expired: reveal_by at or before the bundle's end; pending: after it.
  assert.ok(expired.commitment.reveal_by <= t.completeUntil);
  assert.ok(pending.commitment.reveal_by > t.completeUntil);
  assert.deepEqual(readCommitment(itemOf(c.bundle.records[1])), revealed.commitment);
  assert.equal(t.records[4].record.kind, "reveal");
  assert.deepEqual(t.records[4].record.parents, [toBase64(t.records[1].leafHash)]);

  // A reveal of a commitment from before the window is checked against the bundle's
  // `commitments`; only the window's own commitments are reported.
  const part = caseNamed("a reveal whose commitment is before the window");
  const p = await verifyTrackRecord(part.bundle, keys);
  assert.equal(part.bundle.commitments.length, 1);
  assert.deepEqual(p.commitments.map((s) => [s.seq, Number(s.leafIndex), s.status]), [[5, 5, "pending"]]);

  const edit = (bundle, f) => {
    const b = structuredClone(bundle);
    f(b);
    return b;
  };
  // A record of the window passed off as an earlier commitment, a signal, the same commitment
  // given twice (harmless), a bundled commitment without its item or with one not base64; a
  // signal's item is optional, and checked against its content root when given.
  assert.equal((await verdict(edit(part.bundle, (b) => (b.commitments = [b.records[2]])), keys)).check, "not_a_commitment");
  assert.equal((await verdict(edit(part.bundle, (b) => b.commitments.push(b.records[0])), keys)).check, "not_a_commitment");
  assert.deepEqual((await verdict(edit(part.bundle, (b) => b.commitments.push(b.commitments[0])), keys)).report, part.expect);
  assert.equal((await verdict(edit(part.bundle, (b) => delete b.commitments[0].item), keys)).check, "item");
  assert.equal((await verdict(edit(part.bundle, (b) => (b.commitments[0].item = "AAA")), keys)).check, "item");
  assert.equal(JSON.parse(c.bundle.records[3].record).kind, "signal");
  assert.equal((await verdict(edit(c.bundle, (b) => (b.records[3].item = b.records[1].item)), keys)).check, "item");
  assert.deepEqual((await verdict(edit(c.bundle, (b) => delete b.records[3].item), keys)).report, c.expect);
  // The bundle's commitments are receipts like the others.
  assert.equal((await verdict(edit(part.bundle, (b) => (b.commitments[0].leaf_index = 2)), keys)).check, "inclusion");
});

test("commitment and reveal items: the digest construction, strict canonical items, and the reveal's order of checks", async () => {
  const enc = new TextEncoder();
  // SHA-256("provlog-commitment/v1" || 0x00 || salt || JCS(payload)), as the core's unit test.
  const salt = new Uint8Array(32).fill(1);
  const bytes = new Uint8Array([...enc.encode("provlog-commitment/v1\0"), ...salt, ...enc.encode('{"signal":1,"token":"BTC"}')]);
  assert.deepEqual(await commitmentDigest(salt, { token: "BTC", signal: 1 }), await sha256(bytes));
  // The vectors' commitment at seq 1 is to {"signal":1} under thirty-two 0x01 bytes.
  const c = caseNamed("commitments revealed, expired unrevealed and pending").bundle;
  const commitment = readCommitment(itemOf(c.records[1]));
  const reveal = readReveal(itemOf(c.records[4]));
  assert.equal(reveal.salt, toBase64(salt));
  assert.equal(toBase64(await commitmentDigest(salt, { signal: 1 })), commitment.digest);

  const item = (o) => enc.encode(typeof o === "string" ? o : JSON.stringify(o));
  const refused = (read, o) => assert.throws(() => read(item(o)), ItemError, typeof o === "string" ? o : JSON.stringify(o));
  const ok = { digest: commitment.digest, reveal_after: "2025-11-24T16:00:01.000Z", reveal_by: "2025-11-24T16:00:06.000Z" };
  assert.deepEqual(readCommitment(item(ok)), ok);
  refused(readCommitment, JSON.stringify(ok).replaceAll(":", ": "));
  refused(readCommitment, { reveal_by: ok.reveal_by, digest: ok.digest });
  refused(readCommitment, { ...ok, extra: 1 });
  refused(readCommitment, { digest: ok.digest });
  refused(readCommitment, { ...ok, reveal_after: null });
  refused(readCommitment, { ...ok, digest: "AAAA" });
  refused(readCommitment, { ...ok, reveal_by: "2025-11-24T16:00:06Z" });
  refused(readCommitment, { ...ok, reveal_after: ok.reveal_by });
  refused(readCommitment, `{"digest":"${ok.digest}","digest":"${ok.digest}","reveal_by":"${ok.reveal_by}"}`);
  refused(readCommitment, [ok]);
  assert.throws(() => readCommitment(Uint8Array.of(0xff)), ItemError);
  assert.deepEqual(readReveal(item({ payload: null, salt: reveal.salt })), { payload: null, salt: reveal.salt });
  refused(readReveal, { salt: reveal.salt });
  refused(readReveal, { payload: 1, salt: 1 });
  refused(readReveal, { payload: { b: 1, a: 2 }, salt: reveal.salt });
  refused(readReveal, { payload: 2 ** 53, salt: reveal.salt });
  // Nested at most 64 + 2 deep, counting the reveal itself.
  const nest = (n) => (n === 0 ? 1 : [nest(n - 1)]);
  assert.ok(readReveal(item({ payload: nest(65), salt: reveal.salt })));
  refused(readReveal, { payload: nest(66), salt: reveal.salt });

  // check_reveal: the salt (32 bytes, canonical base64), the digest, then the window.
  const at = (s) => `2025-11-24T16:00:0${s}.000Z`;
  const check = async (r, t, cm = ok) => (await checkReveal(cm, r, at(t)))?.check ?? null;
  assert.equal(await check(reveal, 3), null);
  assert.equal(await check({ ...reveal, payload: { signal: -1 } }, 3), "reveal_does_not_open");
  assert.equal(await check({ ...reveal, salt: toBase64(new Uint8Array(31).fill(1)) }, 3), "reveal_does_not_open");
  assert.equal(await check({ ...reveal, salt: reveal.salt.slice(0, -2) + "F=" }, 3), "reveal_does_not_open");
  assert.equal(await check({ ...reveal, salt: toBase64(new Uint8Array(32).fill(2)) }, 0), "reveal_does_not_open");
  assert.equal(await check(reveal, 0), "reveal_outside_window");
  assert.equal(await check(reveal, 1), null);
  assert.equal(await check(reveal, 6), "reveal_outside_window");
  assert.equal(await check(reveal, 0, commitment), null);
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
    edit((b) => (b.commitments = null)),
    edit((b) => (b.commitments = {})),
    edit((b) => (b.commitments = [{ ...b.records[0], extra: 1 }])),
    edit((b) => (b.records[0].item = 1)),
    edit((b) => (b.after.item = ["AAAA"])),
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
    b.records[0].item = null;
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
  // Commitments and reveals: one JSON item each, format v2 only, a reveal with exactly one parent.
  const cs = v.cases.find((c) => c.desc === "commitments revealed, expired unrevealed and pending").bundle;
  const commitment = JSON.parse(cs.records[1].record);
  const reveal = JSON.parse(cs.records[4].record);
  assert.equal(commitment.kind, "commitment");
  assert.equal(reveal.kind, "reveal");
  for (const r of [commitment, reveal]) assert.equal(parseRecord(canonicalize(r)).kind, r.kind);
  for (const r of [commitment, reveal]) {
    refused({ ...without(r, "seq", "prev"), v: 1 }, new RegExp(`${r.kind} records are format v2`));
    refused({ ...r, content: { ...r.content, items: 2 } }, new RegExp(`a ${r.kind} is exactly one item`));
    refused({ ...r, content: { ...r.content, media_type: "text/plain" } }, new RegExp(`a ${r.kind} is application/json`));
    refused({ ...r, content: { ...r.content, alg: "sha256" } }, new RegExp(`${r.kind} content uses rfc9162-sha256`));
  }
  refused({ ...reveal, parents: [] }, /invalid parents: a reveal names exactly one parent: its commitment/);
  refused({ ...reveal, parents: [...reveal.parents, later.prev] }, /a reveal names exactly one parent/);
  assert.equal(parseRecord(canonicalize({ ...commitment, parents: [later.prev] })).kind, "commitment");
  refused({ ...reveal, kind: "unveil" }, /unknown kind/);
  // Canonical key order puts prev after parents and seq after received_at.
  const text = bundle.records[2].record;
  assert.ok(text.indexOf('"parents"') < text.indexOf('"prev"') && text.indexOf('"prev"') < text.indexOf('"received_at"'));
  assert.ok(text.indexOf('"received_at"') < text.indexOf('"seq"') && text.indexOf('"seq"') < text.indexOf('"source"'));
});

test("scored bundles: the declaration, and the outcomes verified as a bundle of their own", async () => {
  const keys = await trusted();
  const c = caseNamed("signals scored by a price source");
  const t = await verifyTrackRecord(c.bundle, keys);
  const declaration = JSON.parse(new TextDecoder().decode(itemOf(c.bundle.scoring)));
  assert.equal(declaration.event, "scoring-declared");
  assert.deepEqual(t.scoring, { spec: declaration.spec, seq: 2, leafIndex: 3n, at: "2025-11-24T16:00:03.000Z" });
  assert.equal(t.records.find((e) => e.seq === 2).leafIndex, 3n);
  assert.equal(t.outcomes.source, "acme-prices");
  assert.equal(t.outcomes.closed, true);
  assert.equal(t.outcomes.checkpoint.size, t.checkpoint.size);
  assert.ok(t.outcomes.records.every((e) => e.record.kind === "outcome" && e.item !== undefined));
  // Every one-item record carries its item here, proven against its content root.
  for (const e of t.records) assert.equal(toBase64(e.item), c.bundle.records.find((r) => r.leaf_index === Number(e.leafIndex)).item);
  // The predictions' outcomes are their own source's: a window of its chain after the declaration.
  const own = await verifyTrackRecord(caseNamed("predictions scored by their own source").bundle, keys);
  assert.equal(own.outcomes.source, own.source);
  assert.ok(own.outcomes.firstSeq > own.scoring.seq);
  // Without a spec: no declaration, no outcomes.
  const plain = await verifyTrackRecord(caseNamed("the whole history, closed").bundle, keys);
  assert.equal(plain.scoring, undefined);
  assert.equal(plain.outcomes, undefined);

  const edit = (bundle, f) => {
    const b = structuredClone(bundle);
    f(b);
    return b;
  };
  const check = async (b) => (await verdict(b, keys)).check;
  // The declaration's item is required (a registry record is read by it); the record after the
  // window is not a declaration; an explicit null is an absent member.
  assert.equal(await check(edit(c.bundle, (b) => delete b.scoring.item)), "item");
  assert.equal(await check(edit(c.bundle, (b) => (b.scoring = b.after))), "scoring");
  assert.equal(await check(edit(c.bundle, (b) => (b.outcomes = null))), "outcomes_missing");
  assert.equal(await check(edit(c.bundle, (b) => (b.scoring = null))), "scoring_missing");
  // Outcomes given to a bundle without a declaration are refused too.
  assert.equal(await check(edit(caseNamed("the whole history, closed").bundle, (b) => (b.outcomes = c.bundle.outcomes))), "scoring_missing");
  // The nested bundle is read as strictly as the outer one.
  assert.equal(await check(edit(c.bundle, (b) => (b.outcomes.extra = 1))), "parse");
  assert.equal(await check(edit(c.bundle, (b) => (b.scoring.extra = 1))), "parse");
  // A registry record of the window must carry its item, and so must an outcome (one without it
  // would turn a loss into "unscorable"); a signal's is optional.
  assert.equal(await check(edit(c.bundle, (b) => delete b.records[0].item)), "item");
  assert.equal(await check(edit(c.bundle, (b) => delete b.outcomes.records[0].item)), "item");
  assert.match((await verdict(edit(c.bundle, (b) => delete b.outcomes.records[0].item), keys)).message, /^item: the outcomes' bundle: record 0 of the window: .*absent/);
  assert.equal((await verdict(edit(c.bundle, (b) => delete b.records[1].item), keys)).check, undefined);
  // The outcomes are a chain and nothing more: their source's own declaration, in their window,
  // does not apply to them, and a declaration or outcomes of their own are refused.
  const ownDeclaration = caseNamed("the outcome source's own declaration does not apply to its outcomes");
  const od = await verifyTrackRecord(ownDeclaration.bundle, keys);
  const held = ownDeclaration.bundle.outcomes.records.map((e) => JSON.parse(new TextDecoder().decode(itemOf(e))));
  assert.ok(held.some((item) => item.event === "scoring-declared"), "the outcomes' window holds their source's declaration");
  assert.equal(od.outcomes.scoring, undefined);
  assert.equal(od.outcomes.outcomes, undefined);
  assert.equal(await check(edit(c.bundle, (b) => (b.outcomes.scoring = b.scoring))), "scoring");
  assert.equal(await check(edit(c.bundle, (b) => (b.outcomes.outcomes = structuredClone(b.outcomes)))), "scoring");
  assert.match((await verdict(edit(c.bundle, (b) => (b.outcomes.scoring = b.scoring)), keys)).message, /^scoring: the outcomes' bundle: the scoring declaration: /);
  // A declaration named while the window holds another is refused, wherever the named one is.
  const second = caseNamed("a second declaration in the window, the first named: scoring");
  assert.ok(second.bundle.scoring.leaf_index < second.bundle.records[0].leaf_index);
  assert.equal(await check(second.bundle), "scoring");
  assert.equal(await check(edit(second.bundle, (b) => (b.scoring = b.records[0]))), undefined);
  // A failure inside the outcomes is named by its own check, and says where it is.
  const dropped = await verdict(caseNamed("drop an outcome: seq_gap").bundle, keys);
  assert.equal(dropped.check, "seq_gap");
  assert.match(dropped.message, /^seq_gap: the outcomes' bundle: record 1 of the window has sequence number/);
});

test("outcome records: format v2, one JSON item, exactly one parent", () => {
  const o = caseNamed("signals scored by a price source").bundle.outcomes.records[0];
  const r = JSON.parse(o.record);
  assert.equal(r.kind, "outcome");
  assert.equal(parseRecord(o.record).kind, "outcome");
  const without = (x, ...keys) => Object.fromEntries(Object.entries(x).filter(([k]) => !keys.includes(k)));
  const refused = (x, reason) => assert.throws(() => parseRecord(canonicalize(x)), reason);
  refused({ ...without(r, "seq", "prev"), v: 1 }, /outcome records are format v2/);
  refused({ ...r, content: { ...r.content, items: 2 } }, /an? outcome is exactly one item/);
  refused({ ...r, content: { ...r.content, media_type: "text/plain" } }, /an? outcome is application\/json/);
  refused({ ...r, parents: [] }, /invalid parents: an outcome names exactly one parent: the record it is the outcome of/);
  refused({ ...r, parents: [...r.parents, r.prev] }, /an outcome names exactly one parent/);
});
