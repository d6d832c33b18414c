// Track records (docs/formats.md, "Track records"), checked as
// provlog_core::track_record::verify_track_record checks them: a source's records over a window,
// with the records just before and after it, all at one signed checkpoint, whose v2 chain (each
// seq one more, each prev the leaf hash of the record before) runs unbroken from the record
// before to the record after. Commitments and reveals carry their one item; every reveal of the
// window must open, in time and once, a commitment of the window or of the bundle's
// `commitments` (provlog_core::commitment), and each commitment of the window is reported
// revealed, pending or expired unrevealed. Registry records and outcomes carry their item (an
// event, an outcome) and signals may: each item given is checked against its record's content
// root. A bundle whose source declared a scoring spec (provlog_core::score) carries the
// declaration and, once a record is scored, the outcome source's records from before the first
// scored one to the checkpoint, verified as a bundle of their own: a chain and nothing more
// (the outcome source's own declaration does not apply to them). Failures name the same checks
// as the core's TrackRecordError::check(), held to tests/vectors/track-records.json.

import { canonicalize, CanonicalError, duplicateKey, Json, parseStrictJson, StrictJsonError } from "./jcs.js";
import { concat, equal, fromBase64, leafHash, sha256, toBase64 } from "./bytes.js";
import { EvidenceError, readRegistryEvent, RegistryEventError, ScoringSpec, VerifiedKey, verifySourceEvidence } from "./evidence.js";
import { Anchor, Check, Checkpoint, isOneJsonItem, readAnchor, readReceipt, Record, SOURCE, validTime, VerifiedReceipt, verifyReceipt, VerifyError, VerifierKey } from "./verify.js";

export const TRACK_RECORD_FORMAT_V1 = "provlog-track-record/v1";

export type TrackRecordCheck =
  | "parse"
  | "format"
  // A record's receipt, named as the core's error_check names a ReceiptError.
  | "checkpoint_signature"
  | "origin_mismatch"
  | "inclusion"
  | "record"
  | "anchor"
  | "receipt"
  // The chain and the window.
  | "wrong_source"
  | "unchained"
  | "seq_gap"
  | "prev_mismatch"
  | "leaf_order"
  | "time_order"
  | "outside_window"
  | "window_cut_short"
  | "missing_before"
  | "source_key_evidence"
  // Commitments and reveals.
  | "item"
  | "not_a_commitment"
  | "commitment_missing"
  | "second_reveal"
  | "reveal_does_not_open"
  | "reveal_outside_window"
  // Scoring: the declaration and the outcomes (a failure inside the outcomes' own bundle is
  // named by its own check).
  | "scoring"
  | "scoring_missing"
  | "outcomes_missing"
  | "outcomes_source"
  | "outcomes_checkpoint"
  | "outcomes_cut_short";

export class TrackRecordError extends Error {
  constructor(
    readonly check: TrackRecordCheck,
    /** What the core's Display says, without the check's name. */
    readonly detail: string,
  ) {
    super(`${check}: ${detail}`);
  }
}

/** Records received in `[since, until)` and numbered `from_seq..=to_seq`, each bound optional. */
export interface Window {
  since?: string;
  until?: string;
  from_seq?: number;
  to_seq?: number;
}

/** Whether a record received at `at` with sequence number `seq` belongs to the window. */
export function windowContains(w: Window, seq: number, at: string): boolean {
  // Record times are fixed-width UTC text: as strings they compare as times.
  return (
    (w.since === undefined || at >= w.since) &&
    (w.until === undefined || at < w.until) &&
    (w.from_seq === undefined || seq >= w.from_seq) &&
    (w.to_seq === undefined || seq <= w.to_seq)
  );
}

export interface VerifiedEntry {
  leafIndex: bigint;
  leafHash: Uint8Array;
  seq: number;
  record: Record;
  receipt: VerifiedReceipt;
  /** Its one item, proven against `content.root`, when the bundle carries it. */
  item?: Uint8Array;
  /** The registry evidence of the key that signed it; absent when unsigned. */
  key?: VerifiedKey;
}

/** The registry record that declared a bundle's scoring spec, verified (provlog_core::score::Declared). */
export interface Declared {
  spec: ScoringSpec;
  seq: number;
  leafIndex: bigint;
  at: string;
}

/** What became of a commitment of the window, as of the bundle (the core's CommitmentStatus). */
export type CommitmentStatus = "revealed" | "pending" | "expired_unrevealed";

export interface CommitmentState {
  seq: number;
  leafIndex: bigint;
  commitment: Commitment;
  status: CommitmentStatus;
  /** For `revealed`: the window's reveal record that opened it, its time, and the payload. */
  reveal?: { seq: number; at: string; payload: Json };
}

export interface VerifiedTrackRecord {
  source: string;
  window: Window;
  checkpoint: Checkpoint;
  /** The window's records in sequence order: every record of the source in the window. */
  records: VerifiedEntry[];
  count: number;
  /** Sequence number of the window's first record (or of the record after, when empty). */
  firstSeq: number;
  /** Times of the window's first and last records; null for an empty window. */
  span: [string, string] | null;
  /** When the record after the window was received: the window is complete up to then. */
  completeUntil: string;
  /** The record after the window is a `close` record (the window reaches the present). */
  closed: boolean;
  /** Missing sequence numbers: 0 for every verified bundle, by construction (as the core says). */
  gaps: number;
  /** The window's commitments, in sequence order, each revealed, pending or expired unrevealed. */
  commitments: CommitmentState[];
  anchor?: Anchor;
  /** The source's scoring spec, when declared by the checkpoint. */
  scoring?: Declared;
  /** The outcome source's records from before the first scored record to the checkpoint. */
  outcomes?: VerifiedTrackRecord;
}

interface Entry {
  leaf_index: number;
  record: string;
  inclusion_proof: string[];
  /**
   * The record's one item (base64), whose leaf hash is its `content.root`: required for
   * commitments, reveals, registry records and outcomes, carried for signals (and close
   * records) when the log holds their payload, never for snapshots and digests.
   */
  item?: string;
}

interface Bundle {
  format: string;
  source: string;
  window: Window;
  checkpoint: string;
  records: Entry[];
  before?: Entry;
  after: Entry;
  /** The commitments, from before the window, that reveals in the window open. */
  commitments: Entry[];
  evidence: Map<string, unknown>;
  anchor?: Anchor;
  /** The registry record declaring the source's scoring spec. */
  scoring?: Entry;
  /** The outcome source's records, at the same checkpoint: a bundle of their own. */
  outcomes?: Bundle;
}

// ---------------------------------------------------------------------------------------------
// Reading the bundle as serde reads provlog-core's TrackRecord: every shape error is "parse",
// found before any check runs.

function parseFail(message: string): never {
  throw new TrackRecordError("parse", `bundle is not valid JSON of the track-record format: ${message}`);
}

type Fields = { [k: string]: unknown };

function exactKeys(o: unknown, name: string, required: string[], optional: string[] = []): Fields {
  if (typeof o !== "object" || o === null || Array.isArray(o)) parseFail(`${name} is not an object`);
  const obj = o as Fields;
  for (const k of Object.keys(obj)) if (!required.includes(k) && !optional.includes(k)) parseFail(`unknown field ${k} in ${name}`);
  for (const k of required) if (!(k in obj)) parseFail(`missing field ${k} in ${name}`);
  return obj;
}

/** serde reads an explicit null for an optional member as absent. */
const given = (v: unknown) => v !== undefined && v !== null;

function u64Field(v: unknown, name: string): number {
  // JSON numbers above 2^53 lose precision in JavaScript: refused here rather than misread.
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) parseFail(`${name} must be an integer 0..=2^53-1`);
  return v;
}

/** Any lone surrogate, in a key or a string, anywhere: serde_json refuses the document. */
function illFormed(v: unknown): boolean {
  if (typeof v === "string") return !v.isWellFormed();
  if (typeof v !== "object" || v === null) return false;
  if (Array.isArray(v)) return v.some(illFormed);
  return Object.entries(v).some(([k, x]) => !k.isWellFormed() || illFormed(x));
}

/** Runs one of verify.ts's readers (receipts, anchors), its failure being the bundle's. */
function shape<T>(read: (v: unknown) => T, v: unknown, name: string): T {
  try {
    return read(v);
  } catch (e) {
    if (e instanceof VerifyError) parseFail(`${name}: ${e.message}`);
    throw e;
  }
}

function readEntry(v: unknown, name: string): Entry {
  const e = exactKeys(v, name, ["leaf_index", "record", "inclusion_proof"], ["item"]);
  if (typeof e.record !== "string") parseFail(`${name}.record is not a string`);
  const leafIndex = u64Field(e.leaf_index, `${name}.leaf_index`);
  if (!Array.isArray(e.inclusion_proof)) parseFail(`${name}.inclusion_proof is not an array`);
  for (const [i, h] of e.inclusion_proof.entries()) {
    if (typeof h !== "string" || fromBase64(h)?.length !== 32) parseFail(`${name}.inclusion_proof[${i}] is not base64 of 32 bytes`);
  }
  const entry: Entry = { leaf_index: leafIndex, record: e.record, inclusion_proof: e.inclusion_proof as string[] };
  if (given(e.item)) {
    if (typeof e.item !== "string") parseFail(`${name}.item is not a string`);
    entry.item = e.item;
  }
  return entry;
}

function readWindow(v: unknown): Window {
  const w = exactKeys(v, "window", [], ["since", "until", "from_seq", "to_seq"]);
  const out: Window = {};
  for (const k of ["since", "until"] as const) {
    if (!given(w[k])) continue;
    const t = w[k];
    if (typeof t !== "string" || !validTime(t)) parseFail(`window.${k} must be YYYY-MM-DDTHH:MM:SS.sssZ, a real UTC time`);
    out[k] = t;
  }
  for (const k of ["from_seq", "to_seq"] as const) if (given(w[k])) out[k] = u64Field(w[k], `window.${k}`);
  return out;
}

function readBundle(input: unknown): Bundle {
  let raw = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      parseFail(`not JSON: ${(e as Error).message}`);
    }
    // serde refuses a field given twice; JSON.parse would keep the last silently.
    const dup = duplicateKey(input);
    if (dup !== null) parseFail(`duplicate field ${JSON.stringify(dup)}`);
  }
  if (illFormed(raw)) parseFail("a lone surrogate");
  return readBundleObject(raw, "bundle");
}

function readBundleObject(raw: unknown, name: string): Bundle {
  const b = exactKeys(raw, name, ["format", "source", "window", "checkpoint", "records", "after"], ["before", "commitments", "evidence", "anchor", "scoring", "outcomes"]);
  if (typeof b.format !== "string") parseFail("format is not a string");
  if (typeof b.source !== "string" || !SOURCE(b.source)) parseFail("source must be 1..=64 characters of [a-z0-9._-], starting with a letter or digit");
  if (typeof b.checkpoint !== "string") parseFail("checkpoint is not a string");
  const window = readWindow(b.window);
  if (!Array.isArray(b.records)) parseFail("records is not an array");
  const records = b.records.map((e, i) => readEntry(e, `records[${i}]`));
  const before = given(b.before) ? readEntry(b.before, "before") : undefined;
  const after = readEntry(b.after, "after");
  // serde's default for a missing list; an explicit null is not a list.
  let commitments: Entry[] = [];
  if (b.commitments !== undefined) {
    if (!Array.isArray(b.commitments)) parseFail("commitments is not an array");
    commitments = b.commitments.map((e, i) => readEntry(e, `commitments[${i}]`));
  }
  // A Map: key ids such as "__proto__" or "constructor" are plain keys here.
  const evidence = new Map<string, unknown>();
  if (b.evidence !== undefined) {
    if (typeof b.evidence !== "object" || b.evidence === null || Array.isArray(b.evidence)) parseFail("evidence is not an object");
    for (const [keyId, ev] of Object.entries(b.evidence)) {
      const name = `evidence[${JSON.stringify(keyId)}]`;
      const f = exactKeys(ev, name, ["format", "key_added"], ["key_retired"]);
      if (typeof f.format !== "string") parseFail(`${name}.format is not a string`);
      shape(readReceipt, f.key_added, `${name}.key_added`);
      const normal: Fields = { format: f.format, key_added: f.key_added };
      if (given(f.key_retired)) {
        shape(readReceipt, f.key_retired, `${name}.key_retired`);
        normal.key_retired = f.key_retired;
      }
      evidence.set(keyId, normal);
    }
  }
  const anchor = given(b.anchor) ? shape(readAnchor, b.anchor, "anchor") : undefined;
  const scoring = given(b.scoring) ? readEntry(b.scoring, "scoring") : undefined;
  const outcomes = given(b.outcomes) ? readBundleObject(b.outcomes, "outcomes") : undefined;
  return { format: b.format, source: b.source, window, checkpoint: b.checkpoint, records, before, after, commitments, evidence, anchor, scoring, outcomes };
}

// ---------------------------------------------------------------------------------------------
// Commitments and reveals (docs/formats.md, "Commitments and reveals"; provlog_core::commitment)

/** The one item of a `commitment` record. */
export interface Commitment {
  /** Base64 of SHA-256("provlog-commitment/v1" || 0x00 || salt || JCS(payload)). */
  digest: string;
  /** The reveal may not come before this time. */
  reveal_after?: string;
  /** The reveal must come before this time. */
  reveal_by: string;
}

/** The one item of a `reveal` record: what opens its parent commitment. */
export interface Reveal {
  payload: Json;
  /** Base64 of 32 bytes. */
  salt: string;
}

/** An item that is not what its kind's item must be (the core's RecordError from from_item). */
export class ItemError extends Error {}

const COMMITMENT_DOMAIN = new TextEncoder().encode("provlog-commitment/v1\u0000");
const SALT_LEN = 32;
/** The core parses items nested at most MAX_PAYLOAD_DEPTH + 2 deep (the payload inside a reveal). */
const MAX_ITEM_DEPTH = 64 + 2;

/** An item's bytes as strict JSON, as the core's parse_json_with_depth reads them. */
function strictItem(data: Uint8Array): { text: string; value: Json } {
  try {
    return parseStrictJson(data, MAX_ITEM_DEPTH);
  } catch (e) {
    if (e instanceof StrictJsonError) throw new ItemError(e.message);
    throw e;
  }
}

/** serde's deny_unknown_fields, for an item. */
function itemFields(value: Json, name: string, required: string[], optional: string[] = []): { [k: string]: Json } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ItemError(`a ${name} is a JSON object`);
  for (const k of Object.keys(value)) if (!required.includes(k) && !optional.includes(k)) throw new ItemError(`unknown field \`${k}\``);
  for (const k of required) if (!(k in value)) throw new ItemError(`missing field \`${k}\``);
  return value;
}

/** An item must be exactly the canonical JSON of what it parses to (the core's from_item). */
function canonicalItem(text: string, item: Json): void {
  if (canonicalize(item) !== text) throw new ItemError("the bytes are valid but not the canonical (RFC 8785) form of the item");
}

/**
 * Reads a commitment record's item as the core's `Commitment::from_item` does: strict JSON,
 * exactly `{"digest", "reveal_after"?, "reveal_by"}` in canonical form, and a window that is one.
 * Throws an ItemError.
 */
export function readCommitment(data: Uint8Array): Commitment {
  const { text, value } = strictItem(data);
  const f = itemFields(value, "commitment", ["digest", "reveal_by"], ["reveal_after"]);
  if (typeof f.digest !== "string" || fromBase64(f.digest)?.length !== 32) throw new ItemError("digest is not base64 of 32 bytes");
  const time = (v: Json, k: string) => {
    if (typeof v !== "string" || !validTime(v)) throw new ItemError(`${k} must be YYYY-MM-DDTHH:MM:SS.sssZ, a real UTC time`);
    return v;
  };
  const c: Commitment = { digest: f.digest, reveal_by: time(f.reveal_by, "reveal_by") };
  // serde reads an explicit null as absent; the canonical form then omits it (and differs).
  if (f.reveal_after !== undefined && f.reveal_after !== null) c.reveal_after = time(f.reveal_after, "reveal_after");
  canonicalItem(text, c as unknown as Json);
  // check_window
  if (c.reveal_after !== undefined && c.reveal_after >= c.reveal_by) throw new ItemError("invalid commitment.reveal_after: must be before reveal_by");
  return c;
}

/**
 * Reads a reveal record's item as the core's `Reveal::from_item` does: strict JSON, exactly
 * `{"payload", "salt"}` in canonical form. Throws an ItemError.
 */
export function readReveal(data: Uint8Array): Reveal {
  const { text, value } = strictItem(data);
  const f = itemFields(value, "reveal", ["payload", "salt"]);
  if (typeof f.salt !== "string") throw new ItemError("salt is not a string");
  const r: Reveal = { payload: f.payload, salt: f.salt };
  canonicalItem(text, r as unknown as Json);
  return r;
}

/** SHA-256("provlog-commitment/v1" || 0x00 || salt || JCS(payload)): the core's commitment_digest. */
export async function commitmentDigest(salt: Uint8Array, payload: Json): Promise<Uint8Array> {
  return sha256(concat(COMMITMENT_DOMAIN, salt, new TextEncoder().encode(canonicalize(payload))));
}

/** Why a reveal does not open its commitment in time: the check the core's RevealError names. */
export interface RevealFailure {
  check: "reveal_does_not_open" | "reveal_outside_window";
  message: string;
}

/**
 * Whether `reveal`, received at `at`, opens `commitment` within its window, in the order of the
 * core's `Commitment::check_reveal`: the salt, the digest, then `reveal_after` and `reveal_by`.
 * Returns null when it does.
 */
export async function checkReveal(commitment: Commitment, reveal: Reveal, at: string): Promise<RevealFailure | null> {
  const salt = fromBase64(reveal.salt);
  if (!salt || salt.length !== SALT_LEN) return { check: "reveal_does_not_open", message: `the salt is not base64 of ${SALT_LEN} bytes` };
  let found: Uint8Array;
  try {
    found = await commitmentDigest(salt, reveal.payload);
  } catch (e) {
    if (e instanceof CanonicalError) return { check: "reveal_does_not_open", message: `the payload: ${e.message}` };
    throw e;
  }
  if (!equal(found, fromBase64(commitment.digest)!)) {
    return {
      check: "reveal_does_not_open",
      message: `the payload and salt do not open the commitment (its digest is ${commitment.digest}, they hash to ${toBase64(found)})`,
    };
  }
  if (commitment.reveal_after !== undefined && at < commitment.reveal_after) {
    return { check: "reveal_outside_window", message: `revealed at ${at}, before the commitment's reveal_after ${commitment.reveal_after}` };
  }
  if (at >= commitment.reveal_by) {
    return { check: "reveal_outside_window", message: `revealed at ${at}, not before the commitment's reveal_by ${commitment.reveal_by}` };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Verification

type Position =
  | { kind: "before" }
  | { kind: "window"; index: number }
  | { kind: "after" }
  | { kind: "commitment"; index: number }
  | { kind: "scoring" };

function describe(at: Position): string {
  if (at.kind === "before") return "the record before the window";
  if (at.kind === "after") return "the record after the window";
  if (at.kind === "commitment") return `commitment ${at.index} of the bundle`;
  if (at.kind === "scoring") return "the scoring declaration";
  return `record ${at.index} of the window`;
}

/** The core's error_check: a receipt failure, named by what it says about the bundle. */
function receiptCheck(check: Check): TrackRecordCheck {
  switch (check) {
    case "checkpoint":
      return "checkpoint_signature";
    case "origin":
      return "origin_mismatch";
    case "inclusion":
      return "inclusion";
    // A source signature that does not verify is a RecordError in the core.
    case "record":
    case "signature":
      return "record";
    case "anchor":
      return "anchor";
    default:
      return "receipt";
  }
}

interface Link {
  at: Position;
  receipt: VerifiedReceipt;
  /** The record's item, checked against its content, when the bundle carries it. */
  item?: Uint8Array;
}

const scoringError = (at: Position) =>
  new TrackRecordError("scoring", `${describe(at)}: not a scoring declaration of the source before the window's end, or a second one`);

const itemError = (at: Position, reason: string) =>
  new TrackRecordError("item", `${describe(at)}: its item is missing or is not the record's content (${reason})`);

/**
 * The item of a record, checked against its content (the core's `item_of`): required for
 * commitments, reveals, registry records and outcomes (which a bundle is read by), optional for
 * signals and close records, refused for snapshots and digests.
 */
async function itemOf(at: Position, record: Record, item: string | undefined): Promise<Uint8Array | undefined> {
  const wrong = (reason: string) => itemError(at, reason);
  // Outcomes too: one left without its item would turn a loss into "unscorable".
  const required = record.kind === "commitment" || record.kind === "reveal" || record.kind === "source" || record.kind === "outcome";
  if (item === undefined) {
    if (required) throw wrong("absent");
    return undefined;
  }
  if (!isOneJsonItem(record.kind)) throw wrong("a bundle carries no items of snapshots and digests");
  const data = fromBase64(item);
  if (!data) throw wrong("not base64");
  if (toBase64(await leafHash(data)) !== record.content.root) throw wrong("its leaf hash is not content.root");
  return data;
}

/**
 * Verifies a track-record bundle (its JSON text, or the parsed JSON) offline against the trusted
 * checkpoint keys, in the core's order; throws a TrackRecordError naming the first failed check.
 */
export async function verifyTrackRecord(input: unknown, trusted: VerifierKey[]): Promise<VerifiedTrackRecord> {
  return verifyBundle(readBundle(input), trusted, true);
}

/**
 * The core's `verify_bundle`: `scored` false for a bundle's outcomes, which are a chain and
 * nothing more (their source's own declaration, if any, does not apply to them; a scoring
 * declaration or outcomes of their own are refused).
 */
async function verifyBundle(bundle: Bundle, trusted: VerifierKey[], scored: boolean): Promise<VerifiedTrackRecord> {
  if (bundle.format !== TRACK_RECORD_FORMAT_V1) {
    throw new TrackRecordError("format", `unsupported bundle format ${JSON.stringify(bundle.format)} (this verifier reads ${JSON.stringify(TRACK_RECORD_FORMAT_V1)})`);
  }
  const verify = async (at: Position, entry: Entry): Promise<Link> => {
    // Each entry is checked as the receipt it makes with the bundle's checkpoint and anchor.
    const receipt: Fields = {
      format: "provlog-receipt/v1",
      record: entry.record,
      leaf_hash: toBase64(await leafHash(new TextEncoder().encode(entry.record))),
      leaf_index: entry.leaf_index,
      inclusion_proof: entry.inclusion_proof,
      checkpoint: bundle.checkpoint,
    };
    if (bundle.anchor !== undefined) receipt.anchor = bundle.anchor;
    let verified: VerifiedReceipt;
    try {
      verified = await verifyReceipt(JSON.stringify(receipt), trusted);
    } catch (e) {
      if (e instanceof VerifyError) throw new TrackRecordError(receiptCheck(e.check), `${describe(at)}: ${e.message}`);
      throw e;
    }
    if (verified.record.source !== bundle.source) {
      throw new TrackRecordError("wrong_source", `${describe(at)} is of source ${JSON.stringify(verified.record.source)}, not ${JSON.stringify(bundle.source)}`);
    }
    return { at, receipt: verified, item: await itemOf(at, verified.record, entry.item) };
  };

  const before = bundle.before ? await verify({ kind: "before" }, bundle.before) : undefined;
  const records: Link[] = [];
  for (const [index, e] of bundle.records.entries()) records.push(await verify({ kind: "window", index }, e));
  const after = await verify({ kind: "after" }, bundle.after);

  // The chain, from the record before (which may predate chains) to the record after.
  let previous = before;
  let firstSeq: number | undefined;
  for (const link of [...records, after]) {
    const r = link.receipt.record;
    const at = describe(link.at);
    if (r.v !== 2 || r.seq === undefined) throw new TrackRecordError("unchained", `${at} is a format v1 record, without the source's chain`);
    const seq = r.seq;
    if (!previous && (seq !== 0 || r.prev !== undefined)) {
      throw new TrackRecordError("missing_before", "the window does not start at the source's first record and the bundle has no record before it");
    }
    const p = previous?.receipt;
    // A v1 record before the window: the link is its leaf hash alone.
    const expectedSeq = !p ? 0 : p.record.seq !== undefined ? p.record.seq + 1 : seq;
    if (seq !== expectedSeq) {
      throw new TrackRecordError("seq_gap", `${at} has sequence number ${seq}; the chain needs ${expectedSeq}: a record is missing or out of order`);
    }
    const expectedPrev = p ? toBase64(p.leafHash) : undefined;
    if (r.prev !== expectedPrev) {
      throw new TrackRecordError(
        "prev_mismatch",
        `${at} does not link to the record before it (prev ${r.prev ?? "none"}, expected ${expectedPrev ?? "none"}): a record was removed, replaced or reordered`,
      );
    }
    if (p) {
      if (link.receipt.leafIndex <= p.leafIndex) {
        throw new TrackRecordError("leaf_order", `${at} is at leaf ${link.receipt.leafIndex}, not after leaf ${p.leafIndex}`);
      }
      if (r.received_at < p.record.received_at) {
        throw new TrackRecordError("time_order", `${at} was received at ${r.received_at}, before the record ahead of it in the chain (${p.record.received_at})`);
      }
    }
    firstSeq ??= seq;
    previous = link;
  }

  // The window holds exactly the records between the two boundaries.
  const window = bundle.window;
  for (const link of records) {
    const r = link.receipt.record;
    const seq = r.seq ?? 0;
    if (!windowContains(window, seq, r.received_at)) {
      throw new TrackRecordError("outside_window", `${describe(link.at)} (seq ${seq}, received ${r.received_at}) is outside the window`);
    }
  }
  const openEnded = window.until === undefined && window.to_seq === undefined;
  for (const boundary of before ? [before, after] : [after]) {
    const r = boundary.receipt.record;
    // A v1 record before the window has no seq: it is outside by being before the chain.
    if (r.seq === undefined) continue;
    // A window without an upper bound ends at a close record: complete up to it.
    const closes = openEnded && boundary.at.kind === "after" && r.kind === "close";
    if (windowContains(window, r.seq, r.received_at) && !closes) {
      throw new TrackRecordError(
        "window_cut_short",
        `${describe(boundary.at)} (seq ${r.seq}, received ${r.received_at}) belongs to the window: the window was cut short`,
      );
    }
  }

  const commitments = await commitmentStates(bundle.commitments, verify, records, after.receipt.record.received_at);
  let scoring: Declared | undefined;
  if (scored) scoring = await declaration(bundle, verify, records, after);
  else if (bundle.scoring || bundle.outcomes) throw scoringError({ kind: "scoring" });

  // Source keys, one evidence per key, verified against each record it signed (its addition
  // before the record, no retirement before it).
  const entries: VerifiedEntry[] = [];
  for (const link of records) {
    const receipt = link.receipt;
    let key: VerifiedKey | undefined;
    if (receipt.signedBy) {
      const keyId = receipt.signedBy.keyId;
      try {
        key = await verifySourceEvidence(receipt, bundle.evidence.get(keyId), trusted);
      } catch (e) {
        if (e instanceof EvidenceError) throw new TrackRecordError("source_key_evidence", `key ${JSON.stringify(keyId)} signed ${describe(link.at)}: ${e.message}`);
        throw e;
      }
    }
    entries.push({ leafIndex: receipt.leafIndex, leafHash: receipt.leafHash, seq: receipt.record.seq ?? 0, record: receipt.record, receipt, item: link.item, key });
  }
  const outcomes = await outcomesOf(bundle, trusted, scoring, entries);
  const first = entries[0];
  const last = entries[entries.length - 1];
  return {
    source: bundle.source,
    window,
    checkpoint: after.receipt.checkpoint,
    records: entries,
    count: entries.length,
    firstSeq: firstSeq ?? 0,
    span: first ? [first.record.received_at, last.record.received_at] : null,
    completeUntil: after.receipt.record.received_at,
    closed: after.receipt.record.kind === "close",
    gaps: 0,
    commitments,
    anchor: after.receipt.anchor,
    scoring,
    outcomes,
  };
}

/**
 * The core's `declaration`: the bundle's scoring declaration, verified: a registry record of the
 * source stating a scoring spec, in the chain before the record after the window, and the one the
 * window holds if it holds one.
 */
async function declaration(
  bundle: Bundle,
  verify: (at: Position, entry: Entry) => Promise<Link>,
  records: Link[],
  after: Link,
): Promise<Declared | undefined> {
  const scoringEvent = (link: Link): ScoringSpec | undefined => {
    if (link.receipt.record.kind !== "source") return undefined;
    try {
      const event = readRegistryEvent(link.item ?? new Uint8Array(0));
      return event.event === "scoring-declared" ? event.spec : undefined;
    } catch (e) {
      if (e instanceof RegistryEventError) throw itemError(link.at, e.message);
      throw e;
    }
  };
  const wrong = scoringError;
  let inWindow: bigint | undefined;
  for (const link of records) {
    if (scoringEvent(link) !== undefined) {
      if (inWindow !== undefined) throw wrong(link.at);
      inWindow = link.receipt.leafIndex;
    }
  }
  if (!bundle.scoring) {
    if (inWindow !== undefined || bundle.outcomes) throw new TrackRecordError("scoring_missing", "the window holds a scoring declaration the bundle does not name");
    return undefined;
  }
  const at: Position = { kind: "scoring" };
  const link = await verify(at, bundle.scoring);
  const spec = scoringEvent(link);
  if (spec === undefined) throw wrong(at);
  const r = link.receipt.record;
  if (r.seq === undefined) throw new TrackRecordError("unchained", `${describe(at)} is a format v1 record, without the source's chain`);
  const first = records[0]?.receipt.record.seq;
  const last = records[records.length - 1]?.receipt.record.seq;
  // A declaration the window holds is the one: any other would be a second.
  const otherInWindow = inWindow !== undefined && inWindow !== link.receipt.leafIndex;
  const inside = first !== undefined && last !== undefined && r.seq >= first && r.seq <= last;
  if (link.receipt.leafIndex >= after.receipt.leafIndex || otherInWindow || (inside && inWindow === undefined)) throw wrong(at);
  return { spec, seq: r.seq, leafIndex: link.receipt.leafIndex, at: r.received_at };
}

/**
 * The core's `outcomes`: the outcome source's records, verified as a bundle of their own at the
 * same checkpoint, reaching from before the first scored record (signal or commitment after the
 * declaration) to the checkpoint: every outcome that could count is in it.
 */
async function outcomesOf(
  bundle: Bundle,
  trusted: VerifierKey[],
  declared: Declared | undefined,
  entries: VerifiedEntry[],
): Promise<VerifiedTrackRecord | undefined> {
  if (!declared) return undefined;
  const firstScored = entries.find((e) => (e.record.kind === "signal" || e.record.kind === "commitment") && e.seq > declared.seq);
  const outcomes = bundle.outcomes;
  if (!outcomes) {
    if (firstScored) throw new TrackRecordError("outcomes_missing", "the bundle has a scoring declaration but not its outcome source's records");
    return undefined;
  }
  const expected = declared.spec.outcome_source ?? bundle.source;
  if (outcomes.source !== expected) {
    throw new TrackRecordError("outcomes_source", `the outcomes are of source ${JSON.stringify(outcomes.source)}, not ${JSON.stringify(expected)} as the spec declares`);
  }
  if (outcomes.checkpoint !== bundle.checkpoint) throw new TrackRecordError("outcomes_checkpoint", "the outcomes are not at the bundle's checkpoint");
  const reachesBack = outcomes.before && firstScored ? BigInt(outcomes.before.leaf_index) < firstScored.leafIndex : true;
  if (outcomes.window.until !== undefined || outcomes.window.to_seq !== undefined || !reachesBack) {
    throw new TrackRecordError(
      "outcomes_cut_short",
      "the outcomes do not reach back to the first scored record or forward to the checkpoint: some could be missing",
    );
  }
  try {
    return await verifyBundle(outcomes, trusted, false);
  } catch (e) {
    if (e instanceof TrackRecordError) throw new TrackRecordError(e.check, `the outcomes' bundle: ${e.detail}`);
    throw e;
  }
}

/**
 * The core's commitment_states: checks every reveal of the window against its commitment (in the
 * window, or among the bundle's `commitments`), and says what became of each commitment of the
 * window as of `completeUntil`: no record of the source up to then is missing, so a commitment
 * past its `reveal_by` without a reveal in the window was not revealed in time.
 */
async function commitmentStates(
  bundled: Entry[],
  verify: (at: Position, entry: Entry) => Promise<Link>,
  records: Link[],
  completeUntil: string,
): Promise<CommitmentState[]> {
  const firstSeq = records[0]?.receipt.record.seq ?? Infinity;
  const itemOf = <T>(at: Position, read: () => T): T => {
    try {
      return read();
    } catch (e) {
      if (e instanceof ItemError) throw itemError(at, e.message);
      throw e;
    }
  };
  // By leaf hash (base64): the commitment, and whether a reveal of the window opened it.
  const known = new Map<string, { commitment: Commitment; revealed: boolean }>();
  for (const [index, entry] of bundled.entries()) {
    const at: Position = { kind: "commitment", index };
    const link = await verify(at, entry);
    const r = link.receipt.record;
    const earlier = r.seq !== undefined && r.seq < firstSeq;
    const item = link.item;
    if (item === undefined || r.kind !== "commitment" || !earlier) {
      throw new TrackRecordError("not_a_commitment", `${describe(at)} is not a commitment record of the source from before the window`);
    }
    const commitment = itemOf(at, () => readCommitment(item));
    known.set(toBase64(link.receipt.leafHash), { commitment, revealed: false });
  }
  const states: CommitmentState[] = [];
  const inWindow = new Map<string, number>();
  for (const link of records) {
    const r = link.receipt.record;
    const item = link.item;
    if (item === undefined) continue;
    const at = link.at;
    if (r.kind === "commitment") {
      const commitment = itemOf(at, () => readCommitment(item));
      const leaf = toBase64(link.receipt.leafHash);
      inWindow.set(leaf, states.length);
      known.set(leaf, { commitment, revealed: false });
      states.push({ seq: r.seq ?? 0, leafIndex: link.receipt.leafIndex, commitment, status: "pending" });
    } else if (r.kind === "reveal") {
      const reveal = itemOf(at, () => readReveal(item));
      // A reveal names exactly one parent (the record rules): its commitment.
      const parent = r.parents[0];
      const opened = known.get(parent);
      if (!opened) {
        throw new TrackRecordError("commitment_missing", `${describe(at)} reveals a commitment that is neither in the window nor among the bundle's commitments`);
      }
      if (opened.revealed) throw new TrackRecordError("second_reveal", `${describe(at)} reveals a commitment revealed before`);
      const failure = await checkReveal(opened.commitment, reveal, r.received_at);
      if (failure) throw new TrackRecordError(failure.check, `${describe(at)}: ${failure.message}`);
      opened.revealed = true;
      const i = inWindow.get(parent);
      if (i !== undefined) {
        states[i].status = "revealed";
        states[i].reveal = { seq: r.seq ?? 0, at: r.received_at, payload: reveal.payload };
      }
    }
  }
  for (const state of states) {
    if (state.status === "pending" && state.commitment.reveal_by <= completeUntil) state.status = "expired_unrevealed";
  }
  return states;
}
