// A browser-side verifier of provlog receipts: the same checks, in the same order, as
// provlog-core's `receipt::verify_receipt` (docs/formats.md, "Receipts (v1)"), so a page can
// check what the server sent without trusting the server. It is held to the core's answers by
// tests/vectors (receipts/cases.json names the check the core fails each tampered receipt at).
// Pure: WebCrypto (SHA-256, Ed25519) and Keccak-256; no network.

import { canonicalize, CanonicalError, duplicateKey, Json, nestingDepth, strictOffence } from "./jcs.js";
import { keccak256 } from "./keccak.js";
import { concat, equal, fromBase64, leafHash, own, sha256, toHex } from "./bytes.js";

export { fromBase64, leafHash, sha256, toBase64, toHex } from "./bytes.js";

/** The check a receipt failed at; the names match tests/vectors/receipts/cases.json. */
export type Check =
  | "parse"
  | "format"
  | "record"
  | "record_hash"
  | "checkpoint"
  | "origin"
  | "inclusion"
  | "item"
  | "anchor"
  | "signature";

export class VerifyError extends Error {
  /** The checks that passed before this one failed, in words. */
  passed: string[] = [];

  constructor(
    readonly check: Check,
    message: string,
  ) {
    super(`${check}: ${message}`);
  }
}

/** The browser cannot run a check at all (no WebCrypto Ed25519): not a verdict on the receipt. */
export class UnsupportedError extends Error {}

const enc = new TextEncoder();

async function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(Uint8Array.of(1), left, right));
}

// ---------------------------------------------------------------------------------------------
// RFC 9162 inclusion proofs

/** One step up the audit path: the sibling hash, on which side it sits, and the parent. */
export interface PathStep {
  sibling: Uint8Array;
  side: "left" | "right";
  parent: Uint8Array;
}

function inclusionProofLen(index: bigint, size: bigint): number {
  // RFC 9162 §2.1.3.1: the path length is the inner part (bits where index and size-1 differ
  // below their highest differing bit) plus one hash per set bit of index above it.
  let inner = 0;
  for (let x = index ^ (size - 1n); x > 0n; x >>= 1n) inner++;
  let border = 0;
  for (let x = index >> BigInt(inner); x > 0n; x >>= 1n) if (x & 1n) border++;
  return inner + border;
}

/**
 * Verifies an RFC 9162 §2.1.3.2 inclusion proof and returns the path it walks, leaf to root, for
 * drawing. Throws a message naming what is wrong.
 */
export async function verifyInclusion(
  index: bigint,
  size: bigint,
  leaf: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array,
): Promise<PathStep[]> {
  if (index >= size) throw new Error(`leaf index ${index} is not in a tree of size ${size}`);
  const expected = inclusionProofLen(index, size);
  if (proof.length !== expected) {
    throw new Error(`proof has ${proof.length} hashes, a proof for these sizes has ${expected}`);
  }
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  const steps: PathStep[] = [];
  for (const p of proof) {
    if (sn === 0n) throw new Error("proof is longer than the path");
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      steps.push({ sibling: p, side: "left", parent: r });
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
      steps.push({ sibling: p, side: "right", parent: r });
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !equal(r, root)) throw new Error("proof does not lead to the expected root");
  return steps;
}

// ---------------------------------------------------------------------------------------------
// Ed25519, as strictly as ed25519-dalek's verify_strict

// Encodings whose point has small order, compared without the sign bit: 0, 1, the two order-8
// y values, p-1, p and p+1 (the last two non-canonical). verify_strict refuses such keys and R.
const SMALL_ORDER: Uint8Array[] = [
  new Uint8Array(32),
  Uint8Array.of(1, ...new Array<number>(31).fill(0)),
  Uint8Array.from(
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05".match(/../g)!.map((h) => parseInt(h, 16)),
  ),
  Uint8Array.from(
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a".match(/../g)!.map((h) => parseInt(h, 16)),
  ),
  ...[0xec, 0xed, 0xee].map((b) => Uint8Array.of(b, ...new Array<number>(30).fill(0xff), 0x7f)),
];

function smallOrder(point: Uint8Array): boolean {
  const p = Uint8Array.from(point);
  p[31] &= 0x7f;
  return SMALL_ORDER.some((s) => equal(s, p));
}

// The group order L, little-endian: a signature's s must be below it (no malleable copies).
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function canonicalScalar(s: Uint8Array): boolean {
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(s[i]);
  return v < L;
}

/** Ed25519 verification with verify_strict's extra refusals; WebCrypto does the curve. */
export async function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32 || sig.length !== 64) return false;
  if (smallOrder(publicKey) || smallOrder(sig.subarray(0, 32)) || !canonicalScalar(sig.subarray(32))) return false;
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("raw", own(publicKey), { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    if (e instanceof Error && e.name === "NotSupportedError") {
      throw new UnsupportedError("this browser's WebCrypto has no Ed25519");
    }
    return false; // not a point on the curve
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, own(sig), own(message));
}

// ---------------------------------------------------------------------------------------------
// C2SP signed-note checkpoints

export interface VerifierKey {
  name: string;
  id: number;
  key: Uint8Array;
  text: string;
}

function validKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

async function keyId(name: string, encodedKey: Uint8Array): Promise<number> {
  const h = await sha256(concat(enc.encode(name), Uint8Array.of(0x0a), encodedKey));
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

/** Parses a verifier key `name+hexid+base64(0x01 || key)`, checking that the id matches. */
export async function parseVerifierKey(text: string): Promise<VerifierKey> {
  const t = text.trim();
  // name+id, then the rest: base64 itself may contain '+'.
  const first = t.indexOf("+");
  const second = first < 0 ? -1 : t.indexOf("+", first + 1);
  if (second < 0) throw new Error("malformed verifier key: expected name+id+key");
  const [name, idHex, b64] = [t.slice(0, first), t.slice(first + 1, second), t.slice(second + 1)];
  if (!validKeyName(name)) throw new Error(`invalid key name ${JSON.stringify(name)}`);
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw new Error("malformed verifier key: key id must be 8 hex digits");
  const raw = fromBase64(b64);
  if (!raw || raw.length === 0) throw new Error("malformed verifier key: key is not base64");
  if (raw[0] !== 0x01) throw new Error("malformed verifier key: unsupported algorithm (only Ed25519, 0x01)");
  if (raw.length !== 33) throw new Error("malformed verifier key: Ed25519 keys are 32 bytes");
  const id = parseInt(idHex, 16);
  if ((await keyId(name, raw)) !== id) throw new Error("malformed verifier key: key id does not match name and key");
  return { name, id, key: raw.subarray(1), text: t };
}

export interface Checkpoint {
  origin: string;
  size: bigint;
  root: Uint8Array;
  extensions: string[];
  /** `name+hexid` of the trusted keys whose signatures verified. */
  signedBy: string[];
  /** `name+hexid` of signatures by keys not trusted (not checked: witnesses may cosign). */
  unknownSigners: string[];
}

const label = (name: string, id: number) => `${name}+${id.toString(16).padStart(8, "0")}`;

function malformed(): never {
  throw new Error("malformed signed note");
}

/** Verifies a signed checkpoint note against the trusted keys (signed_note + tlog-checkpoint). */
export async function verifyCheckpoint(note: string, trusted: VerifierKey[]): Promise<Checkpoint> {
  if (enc.encode(note).length > 1_000_000 || !note.isWellFormed()) malformed();
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) malformed();
  const cut = note.lastIndexOf("\n\n");
  if (cut < 0) malformed();
  const text = note.slice(0, cut + 1);
  if (!note.endsWith("\n")) malformed();
  const sigLines = note.slice(cut + 2, -1).split("\n");
  if (sigLines.length > 100) malformed();
  const sigs = sigLines.map((line) => {
    if (!line.startsWith("\u2014 ")) malformed();
    const rest = line.slice(2);
    const sp = rest.indexOf(" ");
    if (sp < 0) malformed();
    const name = rest.slice(0, sp);
    const raw = fromBase64(rest.slice(sp + 1));
    if (!raw || raw.length < 5 || !validKeyName(name)) malformed();
    const id = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
    return { name, id, sig: raw.subarray(4), line };
  });
  const signedBy: string[] = [];
  const unknownSigners: string[] = [];
  const seen = new Set<string>();
  const seenUnknown = new Set<string>();
  for (const s of sigs) {
    const matching = trusted.filter((k) => k.name === s.name && k.id === s.id);
    if (matching.length > 1) throw new Error(`more than one trusted key is named ${label(s.name, s.id)}`);
    if (matching.length === 0) {
      if (!seenUnknown.has(s.line)) unknownSigners.push(label(s.name, s.id));
      seenUnknown.add(s.line);
      continue;
    }
    if (seen.has(label(s.name, s.id))) continue;
    seen.add(label(s.name, s.id));
    if (!(await ed25519Verify(matching[0].key, enc.encode(text), s.sig))) {
      throw new Error(`signature by trusted key ${label(s.name, s.id)} does not verify`);
    }
    signedBy.push(label(s.name, s.id));
  }
  if (signedBy.length === 0) {
    throw new Error(`no signature from a trusted key (signed by: ${sigs.map((s) => label(s.name, s.id)).join(", ")})`);
  }
  const lines = text.slice(0, -1).split("\n");
  const [origin, sizeText, rootText, ...extensions] = lines;
  const root = rootText === undefined ? null : fromBase64(rootText);
  if (
    !origin ||
    sizeText === undefined ||
    !/^(0|[1-9][0-9]*)$/.test(sizeText) ||
    BigInt(sizeText) >= 2n ** 64n ||
    !root ||
    root.length !== 32 ||
    extensions.some((l) => l === "")
  ) {
    throw new Error("malformed checkpoint body");
  }
  return { origin, size: BigInt(sizeText), root, extensions, signedBy, unknownSigners };
}

// ---------------------------------------------------------------------------------------------
// Records (docs/formats.md, "Records"): format v2 adds the source's chain; v1 still verifies

type Obj = { [key: string]: Json };

/** provlog-core's `Kind`. */
export type Kind = "signal" | "snapshot" | "digest" | "source" | "close" | "commitment" | "reveal" | "outcome";

const KINDS: readonly string[] = ["signal", "snapshot", "digest", "source", "close", "commitment", "reveal", "outcome"];

/** `Kind::is_one_json_item`: the value itself (signals) or a statement the log stores as item 0. */
export const isOneJsonItem = (kind: Kind) => kind !== "snapshot" && kind !== "digest";

/** `Kind::is_v2_only`. */
export const isV2Only = (kind: Kind) => kind === "close" || kind === "commitment" || kind === "reveal" || kind === "outcome";

export interface Record {
  v: 1 | 2;
  origin: string;
  source: string;
  /**
   * `close`, `commitment`, `reveal` and `outcome` are format v2 only: the log's mark ending a
   * source's track record, a hiding commitment to a payload, its disclosure (whose one parent is
   * the commitment record), and what happened for an earlier record (its one parent: the
   * realised return of a signal, the value a prediction was about).
   */
  kind: Kind;
  content: { alg: "rfc9162-sha256" | "sha256"; root: string; items: number; media_type: string };
  parents: string[];
  /** v2: base64 leaf hash of the source's previous record; absent exactly when `seq` is 0. */
  prev?: string;
  metadata: Obj;
  received_at: string;
  /** v2 (required there): the source's sequence number, 0 for its first record. */
  seq?: number;
  quality?: { check: string; passed: boolean; detail?: string }[];
  signature?: {
    alg: "ed25519";
    key_id: string;
    public_key: string;
    nonce: string;
    created: number;
    sig: string;
  };
}

class RecordInvalid extends Error {}

function bad(field: string, reason: string): never {
  throw new RecordInvalid(`invalid ${field}: ${reason}`);
}

function isObj(v: Json | undefined): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An object with exactly these required and optional keys (serde's deny_unknown_fields). */
function fields(v: Json | undefined, where: string, required: string[], optional: string[] = []): Obj {
  if (!isObj(v)) bad(where, "must be an object");
  for (const k of required) if (!(k in v)) bad(where, `missing field ${k}`);
  for (const k of Object.keys(v)) if (!required.includes(k) && !optional.includes(k)) bad(where, `unknown field ${k}`);
  return v;
}

function str(v: Json | undefined, field: string, rule: (s: string) => boolean, reason: string): string {
  if (typeof v !== "string" || !rule(v)) bad(field, reason);
  return v;
}

function uint(v: Json | undefined, field: string, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > Number.MAX_SAFE_INTEGER) {
    bad(field, `must be ${min}..=2^53-1`);
  }
  return v;
}

const utf8Len = (s: string) => enc.encode(s).length;
const b64Of = (n: number) => (s: string) => fromBase64(s)?.length === n;
const ORIGIN = (s: string) => s.length > 0 && s.length <= 255 && /^[\x21-\x2a\x2c-\x7e]+$/.test(s);
export const SOURCE = (s: string) => /^[a-z0-9][a-z0-9._-]{0,63}$/.test(s);
const MEDIA_PART = "[a-z0-9][a-z0-9!#$&^_.+-]{0,126}";
const MEDIA = (s: string) => new RegExp(`^${MEDIA_PART}/${MEDIA_PART}$`).test(s);
export const KEY_ID = (s: string) => /^[A-Za-z0-9._:-]{1,64}$/.test(s);
const NONCE = (s: string) => /^[A-Za-z0-9_-]{16,128}$/.test(s);

/** A record time as the core's `Timestamp` reads it; fixed width, so strings compare as times. */
export function validTime(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h < 24 && mi < 60 && se < 60;
}

/**
 * Parses record bytes as provlog-core's `Record::from_canonical_bytes` does: a valid v1 or v2
 * record, within the default limits, that is exactly its own canonical form. Throws a reason.
 */
export function parseRecord(text: string): Record {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch (e) {
    throw new RecordInvalid(`invalid JSON: ${(e as Error).message}`);
  }
  const dup = duplicateKey(text);
  if (dup !== null) throw new RecordInvalid(`duplicate key ${JSON.stringify(dup)}`);
  const offence = strictOffence(value);
  if (offence) throw new RecordInvalid(offence);
  if (!isObj(value)) throw new RecordInvalid("a record is a JSON object");
  if (value.v !== 1 && value.v !== 2) {
    throw new RecordInvalid(`unsupported record version ${JSON.stringify(value.v)}; this code reads versions 1 and 2`);
  }
  const r = fields(
    value,
    "record",
    ["v", "origin", "source", "kind", "content", "parents", "metadata", "received_at"],
    ["prev", "quality", "seq", "signature"],
  );
  str(r.origin, "origin", ORIGIN, "must be 1..=255 bytes of printable ASCII without spaces or '+'");
  str(r.source, "source", SOURCE, "must be 1..=64 characters of [a-z0-9._-], starting with a letter or digit");
  const kind = str(r.kind, "kind", (s) => KINDS.includes(s), "unknown kind") as Kind;
  const c = fields(r.content, "content", ["alg", "root", "items", "media_type"]);
  const alg = str(c.alg, "content.alg", (s) => s === "rfc9162-sha256" || s === "sha256", "unknown algorithm");
  str(c.root, "content.root", b64Of(32), "must be base64 of 32 bytes");
  const items = uint(c.items, "content.items", 1);
  const media = str(c.media_type, "content.media_type", MEDIA, "must be type/subtype in lower case");
  if (kind !== "digest" && alg === "sha256") bad("content.alg", `${kind} content uses rfc9162-sha256`);
  // A registry record (kind source) holds one JSON item, its change, like a signal; so do close
  // records ({"close":true}), commitments (the digest and window), reveals (payload and salt) and
  // outcomes (the outcome as JSON).
  const single = isOneJsonItem(kind);
  if (single && items !== 1) bad("content.items", `a ${kind} is exactly one item`);
  if (single && media !== "application/json") bad("content.media_type", `a ${kind} is application/json`);
  if (kind === "digest" && alg === "sha256" && items !== 1) bad("content.items", "a sha256 digest covers exactly one item");
  // Their types, then check_chain's rules, which the core runs right after the content's.
  const seq = "seq" in r ? uint(r.seq, "seq", 0) : undefined;
  if ("prev" in r) str(r.prev, "prev", b64Of(32), "must be base64 of 32 bytes");
  checkChain(r.v as 1 | 2, kind, seq, "prev" in r);
  if (!Array.isArray(r.parents)) bad("parents", "must be an array");
  if (r.parents.length > 64) bad("parents", "at most 64");
  if (kind === "reveal" && r.parents.length !== 1) bad("parents", "a reveal names exactly one parent: its commitment");
  if (kind === "outcome" && r.parents.length !== 1) bad("parents", "an outcome names exactly one parent: the record it is the outcome of");
  for (const p of r.parents) str(p, "parents", b64Of(32), "must be base64 leaf hashes");
  if (new Set(r.parents).size !== r.parents.length) bad("parents", "a parent is listed twice");
  if (!isObj(r.metadata)) bad("metadata", "must be an object");
  const depth = nestingDepth(r.metadata);
  if (depth > 8) throw new RecordInvalid(`metadata nests ${depth} deep, the limit is 8`);
  const metaSize = utf8Len(canonicalize(r.metadata));
  if (metaSize > 4096) throw new RecordInvalid(`metadata is ${metaSize} bytes in canonical form, the limit is 4096`);
  str(r.received_at, "received_at", validTime, "must be YYYY-MM-DDTHH:MM:SS.sssZ, a real UTC time");
  // Optional members are omitted when empty or absent: `null`, `[]` or a null detail are not the
  // canonical form of any record, so they are refused (the core refuses them as not canonical).
  if ("quality" in r) {
    if (!Array.isArray(r.quality) || r.quality.length === 0) bad("quality", "omitted when empty");
    if (r.quality.length > 64) bad("quality", "at most 64 checks");
    for (const q of r.quality) {
      const o = fields(q, "quality", ["check", "passed"], ["detail"]);
      str(o.check, "quality.check", (s) => utf8Len(s) >= 1 && utf8Len(s) <= 128 && !/[\u0000-\u001f\u007f-\u009f]/.test(s), "must be 1..=128 bytes without control characters");
      if (typeof o.passed !== "boolean") bad("quality.passed", "must be a boolean");
      if ("detail" in o) str(o.detail, "quality.detail", (s) => utf8Len(s) <= 1024, "at most 1024 bytes");
    }
  }
  if ("signature" in r) {
    const s = fields(r.signature, "signature", ["alg", "key_id", "public_key", "nonce", "created", "sig"]);
    str(s.alg, "signature.alg", (v) => v === "ed25519", "only ed25519");
    str(s.key_id, "signature.key_id", KEY_ID, "must be 1..=64 characters of [A-Za-z0-9._:-]");
    str(s.public_key, "signature.public_key", b64Of(32), "must be base64 of 32 bytes");
    str(s.nonce, "signature.nonce", NONCE, "must be 16..=128 characters of [A-Za-z0-9_-]");
    uint(s.created, "signature.created", 0);
    str(s.sig, "signature.sig", b64Of(64), "must be base64 of 64 bytes");
  }
  let canonical: string;
  try {
    canonical = canonicalize(r);
  } catch (e) {
    if (e instanceof CanonicalError) throw new RecordInvalid(e.message);
    throw e;
  }
  if (canonical !== text) {
    throw new RecordInvalid("the bytes are valid but not the canonical (RFC 8785) form of the record");
  }
  return r as unknown as Record;
}

/** The chain rules of provlog-core's `Record::check_chain`, with its messages. */
function checkChain(v: 1 | 2, kind: Kind, seq: number | undefined, hasPrev: boolean): void {
  if (v === 1) {
    if (seq !== undefined || hasPrev) bad("seq", "format v1 has no seq or prev (they are v2)");
    if (isV2Only(kind)) bad("kind", `${kind} records are format v2`);
    return;
  }
  if (seq === undefined) bad("seq", "required in format v2");
  if (seq === 0 && hasPrev) bad("prev", "a source's first record (seq 0) has no prev");
  if (seq > 0 && !hasPrev) bad("prev", "required when seq > 0");
}

/** The message a source signs: the context line, then the JCS statement (formats.md). */
export function signedMessage(r: Record): Uint8Array {
  const s = r.signature!;
  const statement: Obj = {
    content: r.content,
    created: s.created,
    key_id: s.key_id,
    kind: r.kind,
    metadata: r.metadata,
    nonce: s.nonce,
    parents: r.parents,
    source: r.source,
  };
  return concat(enc.encode("provlog source signature v1\n"), enc.encode(canonicalize(statement)));
}

// ---------------------------------------------------------------------------------------------
// Receipts

export interface Anchor {
  chain_id: number;
  contract: string;
  log_id: string;
  tx_hash: string;
  block_number: number;
  block_hash: string;
  /** Unix seconds of the anchoring block (absent in receipts from before the log recorded it). */
  block_timestamp?: number;
  tree_size: number;
}

export interface VerifiedReceipt {
  record: Record;
  recordText: string;
  leafHash: Uint8Array;
  leafIndex: bigint;
  checkpoint: Checkpoint;
  checkpointText: string;
  /** The audit path from the leaf to the checkpoint's root, for drawing. */
  path: PathStep[];
  item?: { index: bigint; data: Uint8Array; leafHash: Uint8Array; path: PathStep[] };
  /** The source signature's key, when the record is signed (the signature verified). */
  signedBy?: { keyId: string; publicKey: string };
  /** Offline anchor checks passed; whether the chain holds the root needs the chain. */
  anchor?: Anchor;
  /** Each check that passed, in order, in words. */
  passed: string[];
}

function parseFail(message: string): never {
  throw new VerifyError("parse", message);
}

function hashField(v: unknown, name: string): Uint8Array {
  const h = typeof v === "string" ? fromBase64(v) : null;
  if (!h || h.length !== 32) parseFail(`${name} is not base64 of 32 bytes`);
  return h;
}

function u64Field(v: unknown, name: string): bigint {
  // JSON numbers above 2^53 lose precision in JavaScript: refused here rather than misread.
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) parseFail(`${name} must be an integer 0..=2^53-1`);
  return BigInt(v);
}

function exactKeys(o: unknown, name: string, required: string[], optional: string[] = []): { [k: string]: unknown } {
  if (typeof o !== "object" || o === null || Array.isArray(o)) parseFail(`${name} is not an object`);
  const obj = o as { [k: string]: unknown };
  for (const k of Object.keys(obj)) if (!required.includes(k) && !optional.includes(k)) parseFail(`unknown field ${k} in ${name}`);
  for (const k of required) if (!(k in obj)) parseFail(`missing field ${k} in ${name}`);
  return obj;
}

const isHex = (s: unknown, digits: number) => typeof s === "string" && new RegExp(`^0x[0-9a-fA-F]{${digits}}$`).test(s);

/** `0x` + hex keccak256(origin): the anchor contract's id of a log. */
export function anchorLogId(origin: string): string {
  return `0x${toHex(keccak256(enc.encode(origin)))}`;
}

/**
 * Verifies a receipt (its JSON text) against the trusted checkpoint keys, in the order of
 * docs/formats.md "Verification, in order"; throws a VerifyError naming the failed check.
 */
export async function verifyReceipt(json: string, trusted: VerifierKey[]): Promise<VerifiedReceipt> {
  const passed: string[] = [];
  try {
    return await verifyInOrder(json, trusted, passed);
  } catch (e) {
    if (e instanceof VerifyError) e.passed = passed;
    throw e;
  }
}

/** A receipt's fields, typed as serde reads them into provlog-core's `Receipt`. */
export interface ReceiptFields {
  format: string;
  record: string;
  leafHash: Uint8Array;
  leafIndex: bigint;
  inclusionProof: Uint8Array[];
  checkpoint: string;
  item?: { index: bigint; data: string; proof: Uint8Array[] };
  anchor?: Anchor;
}

/** Reads an anchor reference as serde reads `AnchorRef`; throws a VerifyError at "parse". */
export function readAnchor(raw: unknown): Anchor {
  const a = exactKeys(raw, "anchor", ["chain_id", "contract", "log_id", "tx_hash", "block_number", "block_hash", "tree_size"], ["block_timestamp"]);
  for (const k of ["chain_id", "block_number", "tree_size"]) u64Field(a[k], `anchor.${k}`);
  if (a.block_timestamp !== undefined) u64Field(a.block_timestamp, "anchor.block_timestamp");
  for (const k of ["contract", "log_id", "tx_hash", "block_hash"]) if (typeof a[k] !== "string") parseFail(`anchor.${k} is not a string`);
  return a as unknown as Anchor;
}

/**
 * Reads a parsed receipt's fields as the core's deserialisation does (unknown fields refused, an
 * explicit null for an optional member taken as absent); throws a VerifyError at "parse". Bundles
 * that carry receipts (track records' evidence) are read with it too.
 */
export function readReceipt(raw: unknown): ReceiptFields {
  const r = exactKeys(raw, "receipt", ["format", "record", "leaf_hash", "leaf_index", "inclusion_proof", "checkpoint"], ["item", "anchor"]);
  if (typeof r.format !== "string") parseFail("format is not a string");
  if (typeof r.record !== "string" || !r.record.isWellFormed()) parseFail("record is not a string");
  if (typeof r.checkpoint !== "string") parseFail("checkpoint is not a string");
  const claimed = hashField(r.leaf_hash, "leaf_hash");
  const leafIndex = u64Field(r.leaf_index, "leaf_index");
  if (!Array.isArray(r.inclusion_proof)) parseFail("inclusion_proof is not an array");
  const inclusionProof = r.inclusion_proof.map((h, i) => hashField(h, `inclusion_proof[${i}]`));
  // serde reads an explicit null for an optional member as absent.
  let item: ReceiptFields["item"];
  if (r.item !== undefined && r.item !== null) {
    const it = exactKeys(r.item, "item", ["index", "data", "proof"]);
    if (typeof it.data !== "string") parseFail("item.data is not a string");
    if (!Array.isArray(it.proof)) parseFail("item.proof is not an array");
    item = {
      index: u64Field(it.index, "item.index"),
      data: it.data,
      proof: it.proof.map((h, i) => hashField(h, `item.proof[${i}]`)),
    };
  }
  const anchor = r.anchor !== undefined && r.anchor !== null ? readAnchor(r.anchor) : undefined;
  return { format: r.format, record: r.record, leafHash: claimed, leafIndex, inclusionProof, checkpoint: r.checkpoint, item, anchor };
}

async function verifyInOrder(json: string, trusted: VerifierKey[], passed: string[]): Promise<VerifiedReceipt> {
  if (json.length > 4 << 20) parseFail("receipt is larger than 4 MiB");
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    parseFail(`not JSON: ${(e as Error).message}`);
  }
  const dup = duplicateKey(json);
  if (dup !== null) parseFail(`duplicate field ${JSON.stringify(dup)}`);
  const r = readReceipt(raw);
  const { leafHash: claimedLeaf, leafIndex, inclusionProof: proof, item, anchor } = r;

  // 1. format
  if (r.format !== "provlog-receipt/v1") {
    throw new VerifyError("format", `unsupported receipt format ${JSON.stringify(r.format)} (this verifier reads "provlog-receipt/v1")`);
  }
  passed.push("format is provlog-receipt/v1");
  // 2. record
  let record: Record;
  try {
    record = parseRecord(r.record);
  } catch (e) {
    if (e instanceof RecordInvalid) throw new VerifyError("record", e.message);
    throw e;
  }
  passed.push(`record is a valid v${record.v} record in canonical (RFC 8785) form`);
  // 3. record hash
  const recordBytes = enc.encode(r.record);
  const leaf = await leafHash(recordBytes);
  if (!equal(leaf, claimedLeaf)) {
    throw new VerifyError("record_hash", `receipt says ${toHex(claimedLeaf)}, the record hashes to ${toHex(leaf)}`);
  }
  passed.push(`record hashes to its leaf hash ${toHex(leaf).slice(0, 16)}…`);
  // 4. checkpoint
  let checkpoint: Checkpoint;
  try {
    checkpoint = await verifyCheckpoint(r.checkpoint, trusted);
  } catch (e) {
    if (e instanceof UnsupportedError) throw e;
    throw new VerifyError("checkpoint", (e as Error).message);
  }
  passed.push(`checkpoint (tree size ${checkpoint.size}) signed by trusted key ${checkpoint.signedBy.join(", ")}`);
  // 5. origin
  if (checkpoint.origin !== record.origin) {
    throw new VerifyError("origin", `record is for log ${JSON.stringify(record.origin)}, checkpoint for ${JSON.stringify(checkpoint.origin)}`);
  }
  passed.push(`record and checkpoint name the same log, ${record.origin}`);
  // 6. inclusion
  let path: PathStep[];
  try {
    path = await verifyInclusion(leafIndex, checkpoint.size, leaf, proof, checkpoint.root);
  } catch (e) {
    throw new VerifyError("inclusion", (e as Error).message);
  }
  passed.push(`inclusion proof leads from leaf ${leafIndex} to the checkpoint's root in ${path.length} step(s)`);
  // 7. item
  let verifiedItem: VerifiedReceipt["item"];
  if (item) {
    // A registry record's one item is its event, provable like a snapshot row.
    if (record.kind !== "snapshot" && record.kind !== "source") {
      throw new VerifyError("item", `only snapshot records have provable items, this one is a ${record.kind}`);
    }
    const data = fromBase64(item.data);
    if (!data) throw new VerifyError("item", "data is not base64");
    const itemLeaf = await leafHash(data);
    const root = fromBase64(record.content.root)!;
    try {
      const itemPath = await verifyInclusion(item.index, BigInt(record.content.items), itemLeaf, item.proof, root);
      verifiedItem = { index: item.index, data, leafHash: itemLeaf, path: itemPath };
    } catch (e) {
      throw new VerifyError("item", (e as Error).message);
    }
    passed.push(`row ${item.index} is in the snapshot's content root (${record.content.items} rows)`);
  }
  // Anchor (offline): the core checks it after the item and before the source signature.
  if (anchor) {
    if (BigInt(anchor.tree_size) !== checkpoint.size) {
      throw new VerifyError("anchor", `receipt anchors tree size ${anchor.tree_size}, its checkpoint has size ${checkpoint.size}`);
    }
    const expected = anchorLogId(checkpoint.origin);
    if (anchor.log_id.toLowerCase() !== expected) {
      throw new VerifyError("anchor", `log_id ${anchor.log_id} is not keccak256 of the origin (${expected})`);
    }
    for (const [k, digits] of [["contract", 40], ["tx_hash", 64], ["block_hash", 64]] as const) {
      if (!isHex(anchor[k], digits)) throw new VerifyError("anchor", `${k} ${JSON.stringify(anchor[k])} is not 0x and ${digits} hex digits`);
    }
    if (anchor.chain_id === 0) throw new VerifyError("anchor", "chain_id 0");
    passed.push(`anchor names this checkpoint (size ${anchor.tree_size}) and this log (log_id = keccak256 of the origin); whether the chain holds it needs the chain`);
  }
  // 8. source signature
  let signedBy: VerifiedReceipt["signedBy"];
  if (record.signature) {
    const s = record.signature;
    const ok = await ed25519Verify(fromBase64(s.public_key)!, signedMessage(record), fromBase64(s.sig)!);
    if (!ok) throw new VerifyError("signature", `the source signature by key ${JSON.stringify(s.key_id)} does not verify`);
    signedBy = { keyId: s.key_id, publicKey: s.public_key };
    passed.push(`source signature by key ${s.key_id} verifies (whether that key is ${record.source}'s is for you to decide)`);
  }
  return {
    record,
    recordText: r.record,
    leafHash: leaf,
    leafIndex,
    checkpoint,
    checkpointText: r.checkpoint,
    path,
    item: verifiedItem,
    signedBy,
    anchor,
    passed,
  };
}
