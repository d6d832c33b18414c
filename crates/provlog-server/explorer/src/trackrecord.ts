// Track records (docs/formats.md, "Track records"), checked as
// provlog_core::track_record::verify_track_record checks them: a source's records over a window,
// with the records just before and after it, all at one signed checkpoint, whose v2 chain (each
// seq one more, each prev the leaf hash of the record before) runs unbroken from the record
// before to the record after. Failures name the same checks as the core's
// TrackRecordError::check(), held to tests/vectors/track-records.json.

import { duplicateKey } from "./jcs.js";
import { fromBase64, leafHash, toBase64 } from "./bytes.js";
import { EvidenceError, VerifiedKey, verifySourceEvidence } from "./evidence.js";
import { Anchor, Check, Checkpoint, readAnchor, readReceipt, Record, SOURCE, validTime, VerifiedReceipt, verifyReceipt, VerifyError, VerifierKey } from "./verify.js";

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
  | "source_key_evidence";

export class TrackRecordError extends Error {
  constructor(
    readonly check: TrackRecordCheck,
    message: string,
  ) {
    super(`${check}: ${message}`);
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
  /** The registry evidence of the key that signed it; absent when unsigned. */
  key?: VerifiedKey;
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
  anchor?: Anchor;
}

interface Entry {
  leaf_index: number;
  record: string;
  inclusion_proof: string[];
}

interface Bundle {
  format: string;
  source: string;
  window: Window;
  checkpoint: string;
  records: Entry[];
  before?: Entry;
  after: Entry;
  evidence: Map<string, unknown>;
  anchor?: Anchor;
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
  const e = exactKeys(v, name, ["leaf_index", "record", "inclusion_proof"]);
  if (typeof e.record !== "string") parseFail(`${name}.record is not a string`);
  const leafIndex = u64Field(e.leaf_index, `${name}.leaf_index`);
  if (!Array.isArray(e.inclusion_proof)) parseFail(`${name}.inclusion_proof is not an array`);
  for (const [i, h] of e.inclusion_proof.entries()) {
    if (typeof h !== "string" || fromBase64(h)?.length !== 32) parseFail(`${name}.inclusion_proof[${i}] is not base64 of 32 bytes`);
  }
  return { leaf_index: leafIndex, record: e.record, inclusion_proof: e.inclusion_proof as string[] };
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
  const b = exactKeys(raw, "bundle", ["format", "source", "window", "checkpoint", "records", "after"], ["before", "evidence", "anchor"]);
  if (typeof b.format !== "string") parseFail("format is not a string");
  if (typeof b.source !== "string" || !SOURCE(b.source)) parseFail("source must be 1..=64 characters of [a-z0-9._-], starting with a letter or digit");
  if (typeof b.checkpoint !== "string") parseFail("checkpoint is not a string");
  const window = readWindow(b.window);
  if (!Array.isArray(b.records)) parseFail("records is not an array");
  const records = b.records.map((e, i) => readEntry(e, `records[${i}]`));
  const before = given(b.before) ? readEntry(b.before, "before") : undefined;
  const after = readEntry(b.after, "after");
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
  return { format: b.format, source: b.source, window, checkpoint: b.checkpoint, records, before, after, evidence, anchor };
}

// ---------------------------------------------------------------------------------------------
// Verification

type Position = { kind: "before" } | { kind: "window"; index: number } | { kind: "after" };

function describe(at: Position): string {
  if (at.kind === "before") return "the record before the window";
  if (at.kind === "after") return "the record after the window";
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
}

/**
 * Verifies a track-record bundle (its JSON text, or the parsed JSON) offline against the trusted
 * checkpoint keys, in the core's order; throws a TrackRecordError naming the first failed check.
 */
export async function verifyTrackRecord(input: unknown, trusted: VerifierKey[]): Promise<VerifiedTrackRecord> {
  const bundle = readBundle(input);
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
    return { at, receipt: verified };
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
    entries.push({ leafIndex: receipt.leafIndex, leafHash: receipt.leafHash, seq: receipt.record.seq ?? 0, record: receipt.record, receipt, key });
  }
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
    anchor: after.receipt.anchor,
  };
}
