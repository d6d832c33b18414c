// Source-key evidence (docs/formats.md, "Source-key evidence (v1)"), checked as
// provlog_core::evidence::verify_source_evidence checks it: the receipts of the registry records
// that added and (if so) retired a signed record's key, at the record's checkpoint, prove the
// key was the source's when it signed. Failures name the same checks as the core.

import { equal, fromBase64 } from "./bytes.js";
import { canonicalize, Json } from "./jcs.js";
import { ed25519Verify, VerifiedReceipt, verifyReceipt, VerifierKey } from "./verify.js";

export const SOURCE_EVIDENCE_FORMAT_V1 = "provlog-source-evidence/v1";
const POSSESSION_CONTEXT = "provlog source key possession v1\n";

export type EvidenceCheck =
  | "unsigned"
  | "key_not_registered"
  | "format"
  | "receipt"
  | "wrong_record"
  | "wrong_event"
  | "key_mismatch"
  | "key_registered_later"
  | "key_retired_before"
  | "proof_of_possession";

export class EvidenceError extends Error {
  constructor(
    readonly check: EvidenceCheck,
    message: string,
  ) {
    super(`${check}: ${message}`);
  }
}

export interface Stated {
  leafIndex: bigint;
  at: string;
}

export interface VerifiedKey {
  keyId: string;
  publicKey: string;
  added: Stated;
  /** Added with a proof of possession (false only for backfilled keys). */
  proven: boolean;
  retired?: Stated;
}

type Event = { event: string; key_id?: string; public_key?: string; proof?: string | null };

/** The fields of each registry event, beside `event` (unknown events and fields are refused). */
const EVENT_FIELDS: { [event: string]: string[] } = {
  "source-registered": ["require_signature", "schema_policy", "schema_sha256"],
  "settings-changed": ["require_signature", "schema_policy", "schema_sha256"],
  "key-added": ["key_id", "proof", "public_key"],
  "key-retired": ["key_id"],
};

/** A registry event from an item's bytes: canonical JSON of a known event with its fields. */
function parseEvent(data: Uint8Array): Event | null {
  let value: Json;
  const text = new TextDecoder("utf-8", { fatal: true });
  try {
    value = JSON.parse(text.decode(data)) as Json;
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  if (canonicalize(value) !== text.decode(data)) return null;
  const fields = EVENT_FIELDS[String(value.event)];
  const keys = Object.keys(value).filter((k) => k !== "event").sort();
  if (!fields || keys.join() !== fields.join()) return null;
  return value as unknown as Event;
}

/** A registry record's receipt: verified, of the record's source, at its checkpoint, event proven. */
async function registryEvent(
  which: string,
  receipt: unknown,
  record: VerifiedReceipt,
  trusted: VerifierKey[],
): Promise<[VerifiedReceipt, Event]> {
  let verified: VerifiedReceipt;
  try {
    verified = await verifyReceipt(JSON.stringify(receipt), trusted);
  } catch (e) {
    throw new EvidenceError("receipt", `the ${which} receipt: ${(e as Error).message}`);
  }
  const a = verified.checkpoint;
  const b = record.checkpoint;
  const sameCheckpoint = a.origin === b.origin && a.size === b.size && equal(a.root, b.root) && a.extensions.join("\n") === b.extensions.join("\n");
  const event = verified.item && verified.item.index === 0n ? parseEvent(verified.item.data) : null;
  if (verified.record.kind !== "source" || verified.record.source !== record.record.source || verified.record.origin !== record.record.origin || !sameCheckpoint || !event) {
    throw new EvidenceError("wrong_record", `the ${which} receipt is not of a registry record of source ${JSON.stringify(record.record.source)} at the record's checkpoint`);
  }
  return [verified, event];
}

/** Verifies `evidence` (the `source_evidence` of GET /v1/records/{id}/evidence) for `record`. */
export async function verifySourceEvidence(record: VerifiedReceipt, evidence: unknown, trusted: VerifierKey[]): Promise<VerifiedKey> {
  const sig = record.record.signature;
  if (!sig || !record.signedBy) throw new EvidenceError("unsigned", "the record is not signed: there is no source key to establish");
  if (evidence === null || evidence === undefined) {
    throw new EvidenceError("key_not_registered", `no evidence for the key ${JSON.stringify(sig.key_id)}: the log has no record registering it for the source`);
  }
  const e = evidence as { format?: unknown; key_added?: unknown; key_retired?: unknown };
  const keys = Object.keys(e).sort().join();
  if (e.format !== SOURCE_EVIDENCE_FORMAT_V1 || (keys !== "format,key_added" && keys !== "format,key_added,key_retired")) {
    throw new EvidenceError("format", `unsupported evidence format ${JSON.stringify(e.format)} (this verifier reads ${SOURCE_EVIDENCE_FORMAT_V1})`);
  }
  const wrongEvent = (which: string, found: Event, expected: string) =>
    new EvidenceError("wrong_event", `the ${which} registry record states ${found.event}${found.key_id ? ` ${found.key_id}` : ""}, not the ${expected} of key ${JSON.stringify(sig.key_id)}`);

  const [added, addedEvent] = await registryEvent("key-added", e.key_added, record, trusted);
  if (addedEvent.event !== "key-added" || addedEvent.key_id !== sig.key_id) throw wrongEvent("key-added", addedEvent, "key-added");
  if (addedEvent.public_key !== sig.public_key) {
    throw new EvidenceError("key_mismatch", `key ${JSON.stringify(sig.key_id)} was registered for the source with another public key: the record's signing key is not the source's`);
  }
  if (added.leafIndex >= record.leafIndex) {
    throw new EvidenceError("key_registered_later", `key ${JSON.stringify(sig.key_id)} was registered at leaf ${added.leafIndex}, after the record (leaf ${record.leafIndex})`);
  }
  const proof = addedEvent.proof;
  if (proof !== null && proof !== undefined) {
    const statement = canonicalize({ key_id: sig.key_id, origin: record.record.origin, public_key: sig.public_key, source: record.record.source });
    const message = new TextEncoder().encode(POSSESSION_CONTEXT + statement);
    const proofBytes = fromBase64(proof);
    const ok = proofBytes !== null && proofBytes.length === 64 && (await ed25519Verify(fromBase64(sig.public_key)!, message, proofBytes));
    if (!ok) throw new EvidenceError("proof_of_possession", `the proof of possession of key ${JSON.stringify(sig.key_id)} does not verify`);
  }

  let retired: Stated | undefined;
  if (e.key_retired !== undefined) {
    const [r, retiredEvent] = await registryEvent("key-retired", e.key_retired, record, trusted);
    if (retiredEvent.event !== "key-retired" || retiredEvent.key_id !== sig.key_id) throw wrongEvent("key-retired", retiredEvent, "key-retired");
    if (r.leafIndex <= record.leafIndex) {
      throw new EvidenceError("key_retired_before", `key ${JSON.stringify(sig.key_id)} was retired at leaf ${r.leafIndex}, before the record (leaf ${record.leafIndex})`);
    }
    retired = { leafIndex: r.leafIndex, at: r.record.received_at };
  }
  return {
    keyId: sig.key_id,
    publicKey: sig.public_key,
    added: { leafIndex: added.leafIndex, at: added.record.received_at },
    proven: proof !== null && proof !== undefined,
    retired,
  };
}
