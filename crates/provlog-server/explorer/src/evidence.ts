// Source-key evidence (docs/formats.md, "Source-key evidence (v1)"), checked as
// provlog_core::evidence::verify_source_evidence checks it: the receipts of the registry records
// that added and (if so) retired a signed record's key, at the record's checkpoint, prove the
// key was the source's when it signed. Failures name the same checks as the core.

import { equal, fromBase64 } from "./bytes.js";
import { canonicalize, Json, parseStrictJson, StrictJsonError } from "./jcs.js";
import { ed25519Verify, KEY_ID, SOURCE, VerifiedReceipt, verifyReceipt, VerifierKey } from "./verify.js";

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

// ---------------------------------------------------------------------------------------------
// Registry events (the one item of a `source` record), read as provlog_core::registry's
// RegistryEvent::from_item reads them: strict JSON nested at most 4 deep, a known event with
// exactly its fields, each of its type, a scoring spec that passes ScoringSpec::check, and bytes
// that are the canonical form of what they say.

/** The longest horizon a scoring spec may state: ten years (provlog_core::score::MAX_HORIZON_S). */
export const MAX_HORIZON_S = 10 * 366 * 24 * 3600;

/** How a source's records are scored (provlog_core::score::ScoringSpec), as its registry declares it. */
export interface ScoringSpec {
  /** signals: positions −1/0/1, scored by the asset's return; predictions: numbers, by the number that came true. */
  kind: "signals" | "predictions";
  /** RFC 6901 JSON Pointer to the value in a signal's payload (or a commitment's revealed payload). */
  value: string;
  /** JSON Pointer to the number in an outcome's payload. */
  outcome: string;
  /** Predictions only: JSON Pointer to the reference the direction is measured from. */
  baseline?: string;
  /** The source whose `outcome` records count; absent: the scored source itself. */
  outcome_source?: string;
  /** Seconds after a record before which no outcome counts for it. */
  horizon_s: number;
}

export type RegistryEvent =
  | { event: "source-registered" | "settings-changed"; schema_sha256: string | null; schema_policy: "reject" | "flag"; require_signature: boolean }
  | { event: "key-added"; key_id: string; public_key: string; proof: string | null }
  | { event: "key-retired"; key_id: string }
  | { event: "scoring-declared"; spec: ScoringSpec };

/** An item that is not a registry event (the core's RecordError from RegistryEvent::from_item). */
export class RegistryEventError extends Error {}

/** ScoringSpec::check: why no score could be computed with `spec`, or null. */
export function specProblem(spec: ScoringSpec): string | null {
  for (const [field, p] of [["value", spec.value], ["outcome", spec.outcome], ["baseline", spec.baseline]] as const) {
    if (p !== undefined && p !== "" && !p.startsWith("/")) return `${field}: ${JSON.stringify(p)} is not a JSON Pointer (RFC 6901)`;
  }
  if (spec.kind === "signals" && spec.baseline !== undefined) return "baseline: only predictions have one";
  if (spec.horizon_s === 0 || spec.horizon_s > MAX_HORIZON_S) return `horizon_s: from 1 to ${MAX_HORIZON_S} seconds, got ${spec.horizon_s}`;
  return null;
}

function eventFail(reason: string): never {
  throw new RegistryEventError(`invalid registry event: ${reason}`);
}

type Members = { [k: string]: Json };

/** serde's deny_unknown_fields. */
function members(v: Json | undefined, name: string, required: string[], optional: string[] = []): Members {
  if (v === null || v === undefined || typeof v !== "object" || Array.isArray(v)) eventFail(`${name} is not an object`);
  for (const k of Object.keys(v)) if (!required.includes(k) && !optional.includes(k)) eventFail(`unknown field \`${k}\``);
  for (const k of required) if (!Object.hasOwn(v, k)) eventFail(`missing field \`${k}\``);
  return v;
}

const text = (v: Json, field: string, rule: (s: string) => boolean = () => true): string => {
  if (typeof v !== "string" || !rule(v)) eventFail(`${field} is not what it must be`);
  return v;
};
const base64Of = (n: number) => (s: string) => fromBase64(s)?.length === n;

function readSpec(v: Json | undefined): ScoringSpec {
  const f = members(v, "spec", ["kind", "value", "outcome", "horizon_s"], ["baseline", "outcome_source"]);
  const kind = text(f.kind, "kind", (s) => s === "signals" || s === "predictions") as ScoringSpec["kind"];
  const h = f.horizon_s;
  if (typeof h !== "number" || !Number.isInteger(h) || h < 0) eventFail("horizon_s is not an unsigned integer");
  const spec: ScoringSpec = { kind, value: text(f.value, "value"), outcome: text(f.outcome, "outcome"), horizon_s: h };
  // serde reads an explicit null as absent; the canonical form then omits it (and differs).
  if (f.baseline !== undefined && f.baseline !== null) spec.baseline = text(f.baseline, "baseline");
  if (f.outcome_source !== undefined && f.outcome_source !== null) spec.outcome_source = text(f.outcome_source, "outcome_source", SOURCE);
  return specJson(spec);
}

/** A spec as provlog-core serialises it: its fields in declaration order, absent options omitted. */
export function specJson(spec: ScoringSpec): ScoringSpec {
  const out: Partial<ScoringSpec> = { kind: spec.kind, value: spec.value, outcome: spec.outcome };
  if (spec.baseline !== undefined) out.baseline = spec.baseline;
  if (spec.outcome_source !== undefined) out.outcome_source = spec.outcome_source;
  out.horizon_s = spec.horizon_s;
  return out as ScoringSpec;
}

/** Reads a registry record's item; throws a RegistryEventError. */
export function readRegistryEvent(data: Uint8Array): RegistryEvent {
  let parsed: { text: string; value: Json };
  try {
    parsed = parseStrictJson(data, 4);
  } catch (e) {
    if (e instanceof StrictJsonError) throw new RegistryEventError(e.message);
    throw e;
  }
  const v = parsed.value;
  if (v === null || typeof v !== "object" || Array.isArray(v)) eventFail("a registry event is a JSON object");
  let event: RegistryEvent;
  const hash = (x: Json, field: string) => (x === null ? null : text(x, field, base64Of(32)));
  switch (v.event) {
    case "source-registered":
    case "settings-changed": {
      const f = members(v, v.event, ["event", "schema_sha256", "schema_policy", "require_signature"]);
      if (typeof f.require_signature !== "boolean") eventFail("require_signature is not a boolean");
      event = {
        event: v.event,
        schema_sha256: hash(f.schema_sha256, "schema_sha256"),
        schema_policy: text(f.schema_policy, "schema_policy", (s) => s === "reject" || s === "flag") as "reject" | "flag",
        require_signature: f.require_signature,
      };
      break;
    }
    case "key-added": {
      const f = members(v, v.event, ["event", "key_id", "public_key", "proof"]);
      event = {
        event: v.event,
        key_id: text(f.key_id, "key_id", KEY_ID),
        public_key: text(f.public_key, "public_key", base64Of(32)),
        proof: f.proof === null ? null : text(f.proof, "proof", base64Of(64)),
      };
      break;
    }
    case "key-retired": {
      const f = members(v, v.event, ["event", "key_id"]);
      event = { event: v.event, key_id: text(f.key_id, "key_id", KEY_ID) };
      break;
    }
    case "scoring-declared": {
      const f = members(v, v.event, ["event", "spec"]);
      const spec = readSpec(f.spec);
      const problem = specProblem(spec);
      if (problem) throw new RegistryEventError(`invalid scoring spec: ${problem}`);
      event = { event: v.event, spec };
      break;
    }
    default:
      eventFail(`unknown event ${JSON.stringify(v.event)}`);
  }
  if (canonicalize(event as unknown as Json) !== parsed.text) {
    throw new RegistryEventError("the bytes are valid but not the canonical (RFC 8785) form of the event");
  }
  return event;
}

/** A registry event from an item's bytes, or null when the item is not one. */
function parseEvent(data: Uint8Array): RegistryEvent | null {
  try {
    return readRegistryEvent(data);
  } catch (e) {
    if (e instanceof RegistryEventError) return null;
    throw e;
  }
}

/** A registry record's receipt: verified, of the record's source, at its checkpoint, event proven. */
async function registryEvent(
  which: string,
  receipt: unknown,
  record: VerifiedReceipt,
  trusted: VerifierKey[],
): Promise<[VerifiedReceipt, RegistryEvent]> {
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
  const wrongEvent = (which: string, found: RegistryEvent, expected: string) =>
    new EvidenceError("wrong_event", `the ${which} registry record states ${found.event}${"key_id" in found ? ` ${found.key_id}` : ""}, not the ${expected} of key ${JSON.stringify(sig.key_id)}`);

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
