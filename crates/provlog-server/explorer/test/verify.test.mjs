// The browser's verifier against the golden vectors the Rust core generates (tests/vectors):
// every inclusion vector, every receipt case (valid ones verify; tampered ones fail at the very
// check the core names), and the sample receipts. Run: npm test (tests/all.sh runs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import {
  anchorLogId,
  ed25519Verify,
  fromBase64,
  leafHash,
  parseVerifierKey,
  toBase64,
  toHex,
  verifyInclusion,
  verifyReceipt,
  VerifyError,
} from "../dist/verify.js";
import { keccak256 } from "../dist/keccak.js";
import { canonicalize, duplicateKey } from "../dist/jcs.js";

const vectors = fileURLToPath(new URL("../../../../tests/vectors/", import.meta.url));
const read = (name) => readFileSync(vectors + name, "utf8");
const hex = (s) => Uint8Array.from(s.replace(/^0x/, "").match(/../g).map((h) => parseInt(h, 16)));
const vkey = read("receipts/log.vkey").trim();

test("inclusion vectors: valid ones verify, tampered ones do not", async () => {
  // Sizes reach 2^64-1: quote the big integers before JSON.parse rounds them.
  const text = read("inclusion.json").replace(/("(?:treeSize|leafIndex)":\s*)(\d+)/g, '$1"$2"');
  const cases = JSON.parse(text).cases;
  assert.ok(cases.length > 50);
  let valid = 0;
  for (const c of cases) {
    const run = verifyInclusion(BigInt(c.leafIndex), BigInt(c.treeSize), hex(c.leafHash), c.proof.map(hex), hex(c.root));
    if (c.valid) {
      const path = await run;
      assert.equal(path.length, c.proof.length, c.desc);
      assert.equal(toHex(path.at(-1)?.parent ?? hex(c.leafHash)), c.root.slice(2), c.desc);
      valid++;
    } else {
      await assert.rejects(run, undefined, c.desc);
    }
  }
  assert.ok(valid > 40 && valid < cases.length);
});

test("receipt cases: the same verdict, at the same check, as provlog-core", async () => {
  const trusted = [await parseVerifierKey(vkey)];
  const cases = JSON.parse(read("receipts/cases.json")).cases;
  assert.ok(cases.length > 50);
  const checks = new Set();
  for (const c of cases) {
    if (c.valid) {
      const v = await verifyReceipt(c.receipt, trusted);
      assert.ok(v.passed.length >= 6, c.desc);
    } else {
      await assert.rejects(verifyReceipt(c.receipt, trusted), (e) => {
        assert.ok(e instanceof VerifyError, `${c.desc}: ${e}`);
        assert.equal(e.check, c.check, `${c.desc}: core says "${c.error}", this says "${e.message}"`);
        // Checks run in order: what passed before the failure is reported with it.
        const before = ["parse", "format", "record", "record_hash", "checkpoint", "origin", "inclusion"].indexOf(c.check);
        if (before > 0) assert.ok(e.passed.length >= before - 1, `${c.desc}: ${e.passed}`);
        return true;
      });
      checks.add(c.check);
    }
  }
  // Every kind of check is exercised by some tampered case.
  for (const check of ["parse", "format", "record", "record_hash", "checkpoint", "origin", "inclusion", "item", "anchor", "signature"]) {
    assert.ok(checks.has(check), check);
  }
});

test("sample receipts verify and say what they proved", async () => {
  const trusted = [await parseVerifierKey(vkey)];
  const row = await verifyReceipt(read("receipts/snapshot-row.json"), trusted);
  assert.equal(row.item.index, 3n);
  assert.equal(row.record.kind, "snapshot");
  assert.equal(row.checkpoint.size, 12n);
  assert.equal(row.path.length, 4);
  const signal = await verifyReceipt(read("receipts/signal.json"), trusted);
  assert.equal(signal.signedBy.keyId, "k1");
  const digest = await verifyReceipt(read("receipts/digest.json"), trusted);
  assert.equal(digest.signedBy, undefined);
  assert.equal(digest.leafIndex, 5n);
});

test("a receipt checked against another log's key fails at the checkpoint", async () => {
  const other = "example.com/other+dd7e8d40+AQ" + toBase64(new Uint8Array(32).fill(3)).slice(0, 42) + "=";
  await assert.rejects(parseVerifierKey(other), /key id does not match|base64/);
  const mine = await parseVerifierKey(vkey);
  const renamed = { ...mine, name: "example.com/other" };
  await assert.rejects(verifyReceipt(read("receipts/signal.json"), [renamed]), (e) => e.check === "checkpoint");
});

test("verifier keys: the key id must match the name and key", async () => {
  const k = await parseVerifierKey(vkey);
  assert.equal(k.key.length, 32);
  const [name, id] = vkey.split("+");
  const b64 = vkey.slice(name.length + id.length + 2); // base64 may itself contain '+'
  const wrongId = ((parseInt(id, 16) ^ 1) >>> 0).toString(16).padStart(8, "0");
  await assert.rejects(parseVerifierKey(`${name}+${wrongId}+${b64}`), /key id does not match/);
  await assert.rejects(parseVerifierKey(`${name}x+${id}+${b64}`), /key id does not match/);
  await assert.rejects(parseVerifierKey(`a b+${id}+${b64}`), /invalid key name/);
  await assert.rejects(parseVerifierKey(`${name}+${id}`), /expected name\+id\+key/);
});

test("base64 is strict: padding, alphabet and padding bits", () => {
  assert.deepEqual(fromBase64("AAE="), Uint8Array.of(0, 1));
  assert.equal(fromBase64("AAF="), null);
  assert.equal(fromBase64("AAE"), null);
  assert.equal(fromBase64("A=AE"), null);
  assert.equal(fromBase64("AA-_"), null);
});

test("keccak256 known answers, and the anchor log id of the fixture", () => {
  const enc = new TextEncoder();
  assert.equal(toHex(keccak256(new Uint8Array())), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  assert.equal(toHex(keccak256(enc.encode("abc"))), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // Longer than one 136-byte block.
  assert.equal(toHex(keccak256(new Uint8Array(200))).length, 64);
  const anchored = JSON.parse(JSON.parse(read("receipts/cases.json")).cases.find((c) => c.desc === "signal, anchored").receipt);
  assert.equal(anchorLogId("example.com/provlog/test"), anchored.anchor.log_id);
});

test("JCS: the worked examples of docs/formats.md", () => {
  assert.equal(canonicalize({ b: [1.0, 4.5, 1e21, 0.000001, 1e-7, -0], a: "é/\u0001" }), '{"a":"é/\\u0001","b":[1,4.5,1e+21,0.000001,1e-7,0]}');
  assert.equal(canonicalize({ "\u{ff61}": 1, "\u{1f600}": 2 }), '{"😀":2,"｡":1}');
  assert.throws(() => canonicalize(Infinity));
});

test("Ed25519 is strict: small-order keys and R, and non-canonical s, are refused", async () => {
  const r = JSON.parse(read("receipts/signal.json"));
  const rec = JSON.parse(r.record);
  const { signedMessage } = await import("../dist/verify.js");
  const msg = signedMessage(rec);
  const pk = fromBase64(rec.signature.public_key);
  const sig = fromBase64(rec.signature.sig);
  assert.equal(await ed25519Verify(pk, msg, sig), true);
  const flipped = Uint8Array.from(sig);
  flipped[10] ^= 1;
  assert.equal(await ed25519Verify(pk, msg, flipped), false);
  // s + L encodes the same scalar: accepted by lax verifiers, refused by verify_strict.
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]);
  s += L;
  const malleable = Uint8Array.from(sig);
  for (let i = 0; i < 32; i++) malleable[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
  assert.equal(await ed25519Verify(pk, msg, malleable), false);
  // The identity as public key with R = identity and s = 0 "verifies" any message laxly.
  const identity = Uint8Array.of(1, ...new Array(31).fill(0));
  const weak = new Uint8Array(64);
  weak.set(identity, 0);
  assert.equal(await ed25519Verify(identity, msg, weak), false);
});

test("duplicate keys are refused, as serde refuses them, though JSON.parse keeps the last", async () => {
  assert.equal(duplicateKey('{"a":1,"b":{"a":2},"c":["a","a"]}'), null);
  assert.equal(duplicateKey('{"a":1,"b":2,"a":3}'), "a");
  assert.equal(duplicateKey('{"x":[{"k":1,"\\u006b":2}]}'), "k");
  assert.equal(duplicateKey('{"s":"\\"a\\",","a":1,"a":2}'), "a");
  const trusted = [await parseVerifierKey(vkey)];
  const text = read("receipts/signal.json").trim();
  const doubled = `${text.slice(0, -1)},"format":"provlog-receipt/v1"}`;
  assert.equal(JSON.parse(doubled).format, "provlog-receipt/v1");
  await assert.rejects(verifyReceipt(doubled, trusted), (e) => e.check === "parse" && /duplicate field/.test(e.message));
});

test("source-key evidence: the same verdict, at the same check, as provlog-core", async () => {
  const { verifySourceEvidence, EvidenceError } = await import("../dist/evidence.js");
  const v = JSON.parse(read("evidence.json"));
  const keys = [await parseVerifierKey(v.log_vkey)];
  const seen = new Set();
  for (const c of v.cases) {
    const record = await verifyReceipt(JSON.stringify(c.receipt), keys);
    try {
      const key = await verifySourceEvidence(record, c.source_evidence, keys);
      assert.ok(c.valid, `${c.desc}: verified, but the core refuses it at ${c.error}`);
      assert.ok(key.added.leafIndex < record.leafIndex, c.desc);
    } catch (e) {
      if (!(e instanceof EvidenceError)) throw e;
      assert.equal(e.check, c.error, `${c.desc}: ${e.message}`);
      seen.add(e.check);
    }
  }
  assert.equal(seen.size, 10, [...seen].join());
});

test("registry records: each valid event is canonical and its record's content root", async () => {
  const v = JSON.parse(read("registry.json"));
  const history = v.cases.find((c) => c.valid);
  for (const r of history.records) {
    const record = JSON.parse(r.record);
    assert.equal(record.kind, "source");
    assert.equal(canonicalize(JSON.parse(r.item)), r.item);
    const root = toBase64(await leafHash(new TextEncoder().encode(r.item)));
    assert.equal(root, record.content.root, r.item);
  }
  // The proof of possession signs exactly the message the vector gives.
  const p = v.possession;
  const message = new TextEncoder().encode(
    "provlog source key possession v1\n" +
      canonicalize({ key_id: p.key_id, origin: p.origin, public_key: p.public_key, source: p.source }),
  );
  assert.equal(toBase64(message), p.message_base64);
  assert.ok(await ed25519Verify(fromBase64(p.public_key), message, fromBase64(p.proof)));
});
