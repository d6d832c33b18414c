// A browser-side verifier of provlog receipts: the same checks, in the same order, as
// provlog-core's `receipt::verify_receipt` (docs/formats.md, "Receipts (v1)"), so a page can
// check what the server sent without trusting the server. It is held to the core's answers by
// tests/vectors (receipts/cases.json names the check the core fails each tampered receipt at).
// Pure: WebCrypto (SHA-256, Ed25519) and Keccak-256; no network.
import { canonicalize, CanonicalError, duplicateKey, nestingDepth, strictOffence } from "./jcs.js";
import { keccak256 } from "./keccak.js";
import { concat, equal, fromBase64, leafHash, own, sha256, toHex } from "./bytes.js";
export { fromBase64, leafHash, sha256, toBase64, toHex } from "./bytes.js";
export class VerifyError extends Error {
    check;
    /** The checks that passed before this one failed, in words. */
    passed = [];
    constructor(check, message) {
        super(`${check}: ${message}`);
        this.check = check;
    }
}
/** The browser cannot run a check at all (no WebCrypto Ed25519): not a verdict on the receipt. */
export class UnsupportedError extends Error {
}
const enc = new TextEncoder();
async function nodeHash(left, right) {
    return sha256(concat(Uint8Array.of(1), left, right));
}
function inclusionProofLen(index, size) {
    // RFC 9162 §2.1.3.1: the path length is the inner part (bits where index and size-1 differ
    // below their highest differing bit) plus one hash per set bit of index above it.
    let inner = 0;
    for (let x = index ^ (size - 1n); x > 0n; x >>= 1n)
        inner++;
    let border = 0;
    for (let x = index >> BigInt(inner); x > 0n; x >>= 1n)
        if (x & 1n)
            border++;
    return inner + border;
}
/**
 * Verifies an RFC 9162 §2.1.3.2 inclusion proof and returns the path it walks, leaf to root, for
 * drawing. Throws a message naming what is wrong.
 */
export async function verifyInclusion(index, size, leaf, proof, root) {
    if (index >= size)
        throw new Error(`leaf index ${index} is not in a tree of size ${size}`);
    const expected = inclusionProofLen(index, size);
    if (proof.length !== expected) {
        throw new Error(`proof has ${proof.length} hashes, a proof for these sizes has ${expected}`);
    }
    let fn = index;
    let sn = size - 1n;
    let r = leaf;
    const steps = [];
    for (const p of proof) {
        if (sn === 0n)
            throw new Error("proof is longer than the path");
        if ((fn & 1n) === 1n || fn === sn) {
            r = await nodeHash(p, r);
            steps.push({ sibling: p, side: "left", parent: r });
            if ((fn & 1n) === 0n) {
                while ((fn & 1n) === 0n && fn !== 0n) {
                    fn >>= 1n;
                    sn >>= 1n;
                }
            }
        }
        else {
            r = await nodeHash(r, p);
            steps.push({ sibling: p, side: "right", parent: r });
        }
        fn >>= 1n;
        sn >>= 1n;
    }
    if (sn !== 0n || !equal(r, root))
        throw new Error("proof does not lead to the expected root");
    return steps;
}
// ---------------------------------------------------------------------------------------------
// Ed25519, as strictly as ed25519-dalek's verify_strict
// Encodings whose point has small order, compared without the sign bit: 0, 1, the two order-8
// y values, p-1, p and p+1 (the last two non-canonical). verify_strict refuses such keys and R.
const SMALL_ORDER = [
    new Uint8Array(32),
    Uint8Array.of(1, ...new Array(31).fill(0)),
    Uint8Array.from("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05".match(/../g).map((h) => parseInt(h, 16))),
    Uint8Array.from("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a".match(/../g).map((h) => parseInt(h, 16))),
    ...[0xec, 0xed, 0xee].map((b) => Uint8Array.of(b, ...new Array(30).fill(0xff), 0x7f)),
];
function smallOrder(point) {
    const p = Uint8Array.from(point);
    p[31] &= 0x7f;
    return SMALL_ORDER.some((s) => equal(s, p));
}
// The group order L, little-endian: a signature's s must be below it (no malleable copies).
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
function canonicalScalar(s) {
    let v = 0n;
    for (let i = 31; i >= 0; i--)
        v = (v << 8n) | BigInt(s[i]);
    return v < L;
}
/** Ed25519 verification with verify_strict's extra refusals; WebCrypto does the curve. */
export async function ed25519Verify(publicKey, message, sig) {
    if (publicKey.length !== 32 || sig.length !== 64)
        return false;
    if (smallOrder(publicKey) || smallOrder(sig.subarray(0, 32)) || !canonicalScalar(sig.subarray(32)))
        return false;
    let key;
    try {
        key = await crypto.subtle.importKey("raw", own(publicKey), { name: "Ed25519" }, false, ["verify"]);
    }
    catch (e) {
        if (e instanceof Error && e.name === "NotSupportedError") {
            throw new UnsupportedError("this browser's WebCrypto has no Ed25519");
        }
        return false; // not a point on the curve
    }
    return crypto.subtle.verify({ name: "Ed25519" }, key, own(sig), own(message));
}
function validKeyName(name) {
    return name.length > 0 && !/[\s+]/u.test(name);
}
async function keyId(name, encodedKey) {
    const h = await sha256(concat(enc.encode(name), Uint8Array.of(0x0a), encodedKey));
    return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}
/** Parses a verifier key `name+hexid+base64(0x01 || key)`, checking that the id matches. */
export async function parseVerifierKey(text) {
    const t = text.trim();
    // name+id, then the rest: base64 itself may contain '+'.
    const first = t.indexOf("+");
    const second = first < 0 ? -1 : t.indexOf("+", first + 1);
    if (second < 0)
        throw new Error("malformed verifier key: expected name+id+key");
    const [name, idHex, b64] = [t.slice(0, first), t.slice(first + 1, second), t.slice(second + 1)];
    if (!validKeyName(name))
        throw new Error(`invalid key name ${JSON.stringify(name)}`);
    if (!/^[0-9a-fA-F]{8}$/.test(idHex))
        throw new Error("malformed verifier key: key id must be 8 hex digits");
    const raw = fromBase64(b64);
    if (!raw || raw.length === 0)
        throw new Error("malformed verifier key: key is not base64");
    if (raw[0] !== 0x01)
        throw new Error("malformed verifier key: unsupported algorithm (only Ed25519, 0x01)");
    if (raw.length !== 33)
        throw new Error("malformed verifier key: Ed25519 keys are 32 bytes");
    const id = parseInt(idHex, 16);
    if ((await keyId(name, raw)) !== id)
        throw new Error("malformed verifier key: key id does not match name and key");
    return { name, id, key: raw.subarray(1), text: t };
}
const label = (name, id) => `${name}+${id.toString(16).padStart(8, "0")}`;
function malformed() {
    throw new Error("malformed signed note");
}
/** Verifies a signed checkpoint note against the trusted keys (signed_note + tlog-checkpoint). */
export async function verifyCheckpoint(note, trusted) {
    if (enc.encode(note).length > 1_000_000 || !note.isWellFormed())
        malformed();
    if (/[\u0000-\u0009\u000b-\u001f]/.test(note))
        malformed();
    const cut = note.lastIndexOf("\n\n");
    if (cut < 0)
        malformed();
    const text = note.slice(0, cut + 1);
    if (!note.endsWith("\n"))
        malformed();
    const sigLines = note.slice(cut + 2, -1).split("\n");
    if (sigLines.length > 100)
        malformed();
    const sigs = sigLines.map((line) => {
        if (!line.startsWith("\u2014 "))
            malformed();
        const rest = line.slice(2);
        const sp = rest.indexOf(" ");
        if (sp < 0)
            malformed();
        const name = rest.slice(0, sp);
        const raw = fromBase64(rest.slice(sp + 1));
        if (!raw || raw.length < 5 || !validKeyName(name))
            malformed();
        const id = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
        return { name, id, sig: raw.subarray(4), line };
    });
    const signedBy = [];
    const unknownSigners = [];
    const seen = new Set();
    const seenUnknown = new Set();
    for (const s of sigs) {
        const matching = trusted.filter((k) => k.name === s.name && k.id === s.id);
        if (matching.length > 1)
            throw new Error(`more than one trusted key is named ${label(s.name, s.id)}`);
        if (matching.length === 0) {
            if (!seenUnknown.has(s.line))
                unknownSigners.push(label(s.name, s.id));
            seenUnknown.add(s.line);
            continue;
        }
        if (seen.has(label(s.name, s.id)))
            continue;
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
    if (!origin ||
        sizeText === undefined ||
        !/^(0|[1-9][0-9]*)$/.test(sizeText) ||
        BigInt(sizeText) >= 2n ** 64n ||
        !root ||
        root.length !== 32 ||
        extensions.some((l) => l === "")) {
        throw new Error("malformed checkpoint body");
    }
    return { origin, size: BigInt(sizeText), root, extensions, signedBy, unknownSigners };
}
const KINDS = ["signal", "snapshot", "digest", "source", "close", "commitment", "reveal", "outcome"];
/** `Kind::is_one_json_item`: the value itself (signals) or a statement the log stores as item 0. */
export const isOneJsonItem = (kind) => kind !== "snapshot" && kind !== "digest";
/** `Kind::is_v2_only`. */
export const isV2Only = (kind) => kind === "close" || kind === "commitment" || kind === "reveal" || kind === "outcome";
class RecordInvalid extends Error {
}
function bad(field, reason) {
    throw new RecordInvalid(`invalid ${field}: ${reason}`);
}
function isObj(v) {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
/** An object with exactly these required and optional keys (serde's deny_unknown_fields). */
function fields(v, where, required, optional = []) {
    if (!isObj(v))
        bad(where, "must be an object");
    for (const k of required)
        if (!(k in v))
            bad(where, `missing field ${k}`);
    for (const k of Object.keys(v))
        if (!required.includes(k) && !optional.includes(k))
            bad(where, `unknown field ${k}`);
    return v;
}
function str(v, field, rule, reason) {
    if (typeof v !== "string" || !rule(v))
        bad(field, reason);
    return v;
}
function uint(v, field, min) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > Number.MAX_SAFE_INTEGER) {
        bad(field, `must be ${min}..=2^53-1`);
    }
    return v;
}
const utf8Len = (s) => enc.encode(s).length;
const b64Of = (n) => (s) => fromBase64(s)?.length === n;
const ORIGIN = (s) => s.length > 0 && s.length <= 255 && /^[\x21-\x2a\x2c-\x7e]+$/.test(s);
export const SOURCE = (s) => /^[a-z0-9][a-z0-9._-]{0,63}$/.test(s);
const MEDIA_PART = "[a-z0-9][a-z0-9!#$&^_.+-]{0,126}";
const MEDIA = (s) => new RegExp(`^${MEDIA_PART}/${MEDIA_PART}$`).test(s);
export const KEY_ID = (s) => /^[A-Za-z0-9._:-]{1,64}$/.test(s);
const NONCE = (s) => /^[A-Za-z0-9_-]{16,128}$/.test(s);
/** A record time as the core's `Timestamp` reads it; fixed width, so strings compare as times. */
export function validTime(s) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/.exec(s);
    if (!m)
        return false;
    const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
    return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h < 24 && mi < 60 && se < 60;
}
/**
 * Parses record bytes as provlog-core's `Record::from_canonical_bytes` does: a valid v1 or v2
 * record, within the default limits, that is exactly its own canonical form. Throws a reason.
 */
export function parseRecord(text) {
    let value;
    try {
        value = JSON.parse(text);
    }
    catch (e) {
        throw new RecordInvalid(`invalid JSON: ${e.message}`);
    }
    const dup = duplicateKey(text);
    if (dup !== null)
        throw new RecordInvalid(`duplicate key ${JSON.stringify(dup)}`);
    const offence = strictOffence(value);
    if (offence)
        throw new RecordInvalid(offence);
    if (!isObj(value))
        throw new RecordInvalid("a record is a JSON object");
    if (value.v !== 1 && value.v !== 2) {
        throw new RecordInvalid(`unsupported record version ${JSON.stringify(value.v)}; this code reads versions 1 and 2`);
    }
    const r = fields(value, "record", ["v", "origin", "source", "kind", "content", "parents", "metadata", "received_at"], ["prev", "quality", "seq", "signature"]);
    str(r.origin, "origin", ORIGIN, "must be 1..=255 bytes of printable ASCII without spaces or '+'");
    str(r.source, "source", SOURCE, "must be 1..=64 characters of [a-z0-9._-], starting with a letter or digit");
    const kind = str(r.kind, "kind", (s) => KINDS.includes(s), "unknown kind");
    const c = fields(r.content, "content", ["alg", "root", "items", "media_type"]);
    const alg = str(c.alg, "content.alg", (s) => s === "rfc9162-sha256" || s === "sha256", "unknown algorithm");
    str(c.root, "content.root", b64Of(32), "must be base64 of 32 bytes");
    const items = uint(c.items, "content.items", 1);
    const media = str(c.media_type, "content.media_type", MEDIA, "must be type/subtype in lower case");
    if (kind !== "digest" && alg === "sha256")
        bad("content.alg", `${kind} content uses rfc9162-sha256`);
    // A registry record (kind source) holds one JSON item, its change, like a signal; so do close
    // records ({"close":true}), commitments (the digest and window), reveals (payload and salt) and
    // outcomes (the outcome as JSON).
    const single = isOneJsonItem(kind);
    if (single && items !== 1)
        bad("content.items", `a ${kind} is exactly one item`);
    if (single && media !== "application/json")
        bad("content.media_type", `a ${kind} is application/json`);
    if (kind === "digest" && alg === "sha256" && items !== 1)
        bad("content.items", "a sha256 digest covers exactly one item");
    // Their types, then check_chain's rules, which the core runs right after the content's.
    const seq = "seq" in r ? uint(r.seq, "seq", 0) : undefined;
    if ("prev" in r)
        str(r.prev, "prev", b64Of(32), "must be base64 of 32 bytes");
    checkChain(r.v, kind, seq, "prev" in r);
    if (!Array.isArray(r.parents))
        bad("parents", "must be an array");
    if (r.parents.length > 64)
        bad("parents", "at most 64");
    if (kind === "reveal" && r.parents.length !== 1)
        bad("parents", "a reveal names exactly one parent: its commitment");
    if (kind === "outcome" && r.parents.length !== 1)
        bad("parents", "an outcome names exactly one parent: the record it is the outcome of");
    for (const p of r.parents)
        str(p, "parents", b64Of(32), "must be base64 leaf hashes");
    if (new Set(r.parents).size !== r.parents.length)
        bad("parents", "a parent is listed twice");
    if (!isObj(r.metadata))
        bad("metadata", "must be an object");
    const depth = nestingDepth(r.metadata);
    if (depth > 8)
        throw new RecordInvalid(`metadata nests ${depth} deep, the limit is 8`);
    const metaSize = utf8Len(canonicalize(r.metadata));
    if (metaSize > 4096)
        throw new RecordInvalid(`metadata is ${metaSize} bytes in canonical form, the limit is 4096`);
    str(r.received_at, "received_at", validTime, "must be YYYY-MM-DDTHH:MM:SS.sssZ, a real UTC time");
    // Optional members are omitted when empty or absent: `null`, `[]` or a null detail are not the
    // canonical form of any record, so they are refused (the core refuses them as not canonical).
    if ("quality" in r) {
        if (!Array.isArray(r.quality) || r.quality.length === 0)
            bad("quality", "omitted when empty");
        if (r.quality.length > 64)
            bad("quality", "at most 64 checks");
        for (const q of r.quality) {
            const o = fields(q, "quality", ["check", "passed"], ["detail"]);
            str(o.check, "quality.check", (s) => utf8Len(s) >= 1 && utf8Len(s) <= 128 && !/[\u0000-\u001f\u007f-\u009f]/.test(s), "must be 1..=128 bytes without control characters");
            if (typeof o.passed !== "boolean")
                bad("quality.passed", "must be a boolean");
            if ("detail" in o)
                str(o.detail, "quality.detail", (s) => utf8Len(s) <= 1024, "at most 1024 bytes");
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
    let canonical;
    try {
        canonical = canonicalize(r);
    }
    catch (e) {
        if (e instanceof CanonicalError)
            throw new RecordInvalid(e.message);
        throw e;
    }
    if (canonical !== text) {
        throw new RecordInvalid("the bytes are valid but not the canonical (RFC 8785) form of the record");
    }
    return r;
}
/** The chain rules of provlog-core's `Record::check_chain`, with its messages. */
function checkChain(v, kind, seq, hasPrev) {
    if (v === 1) {
        if (seq !== undefined || hasPrev)
            bad("seq", "format v1 has no seq or prev (they are v2)");
        if (isV2Only(kind))
            bad("kind", `${kind} records are format v2`);
        return;
    }
    if (seq === undefined)
        bad("seq", "required in format v2");
    if (seq === 0 && hasPrev)
        bad("prev", "a source's first record (seq 0) has no prev");
    if (seq > 0 && !hasPrev)
        bad("prev", "required when seq > 0");
}
/** The message a source signs: the context line, then the JCS statement (formats.md). */
export function signedMessage(r) {
    const s = r.signature;
    const statement = {
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
function parseFail(message) {
    throw new VerifyError("parse", message);
}
function hashField(v, name) {
    const h = typeof v === "string" ? fromBase64(v) : null;
    if (!h || h.length !== 32)
        parseFail(`${name} is not base64 of 32 bytes`);
    return h;
}
function u64Field(v, name) {
    // JSON numbers above 2^53 lose precision in JavaScript: refused here rather than misread.
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
        parseFail(`${name} must be an integer 0..=2^53-1`);
    return BigInt(v);
}
function exactKeys(o, name, required, optional = []) {
    if (typeof o !== "object" || o === null || Array.isArray(o))
        parseFail(`${name} is not an object`);
    const obj = o;
    for (const k of Object.keys(obj))
        if (!required.includes(k) && !optional.includes(k))
            parseFail(`unknown field ${k} in ${name}`);
    for (const k of required)
        if (!(k in obj))
            parseFail(`missing field ${k} in ${name}`);
    return obj;
}
const isHex = (s, digits) => typeof s === "string" && new RegExp(`^0x[0-9a-fA-F]{${digits}}$`).test(s);
/** `0x` + hex keccak256(origin): the anchor contract's id of a log. */
export function anchorLogId(origin) {
    return `0x${toHex(keccak256(enc.encode(origin)))}`;
}
/**
 * Verifies a receipt (its JSON text) against the trusted checkpoint keys, in the order of
 * docs/formats.md "Verification, in order"; throws a VerifyError naming the failed check.
 */
export async function verifyReceipt(json, trusted) {
    const passed = [];
    try {
        return await verifyInOrder(json, trusted, passed);
    }
    catch (e) {
        if (e instanceof VerifyError)
            e.passed = passed;
        throw e;
    }
}
/** Reads an anchor reference as serde reads `AnchorRef`; throws a VerifyError at "parse". */
export function readAnchor(raw) {
    const a = exactKeys(raw, "anchor", ["chain_id", "contract", "log_id", "tx_hash", "block_number", "block_hash", "tree_size"], ["block_timestamp"]);
    for (const k of ["chain_id", "block_number", "tree_size"])
        u64Field(a[k], `anchor.${k}`);
    if (a.block_timestamp !== undefined)
        u64Field(a.block_timestamp, "anchor.block_timestamp");
    for (const k of ["contract", "log_id", "tx_hash", "block_hash"])
        if (typeof a[k] !== "string")
            parseFail(`anchor.${k} is not a string`);
    return a;
}
/**
 * Reads a parsed receipt's fields as the core's deserialisation does (unknown fields refused, an
 * explicit null for an optional member taken as absent); throws a VerifyError at "parse". Bundles
 * that carry receipts (track records' evidence) are read with it too.
 */
export function readReceipt(raw) {
    const r = exactKeys(raw, "receipt", ["format", "record", "leaf_hash", "leaf_index", "inclusion_proof", "checkpoint"], ["item", "anchor"]);
    if (typeof r.format !== "string")
        parseFail("format is not a string");
    if (typeof r.record !== "string" || !r.record.isWellFormed())
        parseFail("record is not a string");
    if (typeof r.checkpoint !== "string")
        parseFail("checkpoint is not a string");
    const claimed = hashField(r.leaf_hash, "leaf_hash");
    const leafIndex = u64Field(r.leaf_index, "leaf_index");
    if (!Array.isArray(r.inclusion_proof))
        parseFail("inclusion_proof is not an array");
    const inclusionProof = r.inclusion_proof.map((h, i) => hashField(h, `inclusion_proof[${i}]`));
    // serde reads an explicit null for an optional member as absent.
    let item;
    if (r.item !== undefined && r.item !== null) {
        const it = exactKeys(r.item, "item", ["index", "data", "proof"]);
        if (typeof it.data !== "string")
            parseFail("item.data is not a string");
        if (!Array.isArray(it.proof))
            parseFail("item.proof is not an array");
        item = {
            index: u64Field(it.index, "item.index"),
            data: it.data,
            proof: it.proof.map((h, i) => hashField(h, `item.proof[${i}]`)),
        };
    }
    const anchor = r.anchor !== undefined && r.anchor !== null ? readAnchor(r.anchor) : undefined;
    return { format: r.format, record: r.record, leafHash: claimed, leafIndex, inclusionProof, checkpoint: r.checkpoint, item, anchor };
}
async function verifyInOrder(json, trusted, passed) {
    if (json.length > 4 << 20)
        parseFail("receipt is larger than 4 MiB");
    let raw;
    try {
        raw = JSON.parse(json);
    }
    catch (e) {
        parseFail(`not JSON: ${e.message}`);
    }
    const dup = duplicateKey(json);
    if (dup !== null)
        parseFail(`duplicate field ${JSON.stringify(dup)}`);
    const r = readReceipt(raw);
    const { leafHash: claimedLeaf, leafIndex, inclusionProof: proof, item, anchor } = r;
    // 1. format
    if (r.format !== "provlog-receipt/v1") {
        throw new VerifyError("format", `unsupported receipt format ${JSON.stringify(r.format)} (this verifier reads "provlog-receipt/v1")`);
    }
    passed.push("format is provlog-receipt/v1");
    // 2. record
    let record;
    try {
        record = parseRecord(r.record);
    }
    catch (e) {
        if (e instanceof RecordInvalid)
            throw new VerifyError("record", e.message);
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
    let checkpoint;
    try {
        checkpoint = await verifyCheckpoint(r.checkpoint, trusted);
    }
    catch (e) {
        if (e instanceof UnsupportedError)
            throw e;
        throw new VerifyError("checkpoint", e.message);
    }
    passed.push(`checkpoint (tree size ${checkpoint.size}) signed by trusted key ${checkpoint.signedBy.join(", ")}`);
    // 5. origin
    if (checkpoint.origin !== record.origin) {
        throw new VerifyError("origin", `record is for log ${JSON.stringify(record.origin)}, checkpoint for ${JSON.stringify(checkpoint.origin)}`);
    }
    passed.push(`record and checkpoint name the same log, ${record.origin}`);
    // 6. inclusion
    let path;
    try {
        path = await verifyInclusion(leafIndex, checkpoint.size, leaf, proof, checkpoint.root);
    }
    catch (e) {
        throw new VerifyError("inclusion", e.message);
    }
    passed.push(`inclusion proof leads from leaf ${leafIndex} to the checkpoint's root in ${path.length} step(s)`);
    // 7. item
    let verifiedItem;
    if (item) {
        // A registry record's one item is its event, provable like a snapshot row.
        if (record.kind !== "snapshot" && record.kind !== "source") {
            throw new VerifyError("item", `only snapshot records have provable items, this one is a ${record.kind}`);
        }
        const data = fromBase64(item.data);
        if (!data)
            throw new VerifyError("item", "data is not base64");
        const itemLeaf = await leafHash(data);
        const root = fromBase64(record.content.root);
        try {
            const itemPath = await verifyInclusion(item.index, BigInt(record.content.items), itemLeaf, item.proof, root);
            verifiedItem = { index: item.index, data, leafHash: itemLeaf, path: itemPath };
        }
        catch (e) {
            throw new VerifyError("item", e.message);
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
        for (const [k, digits] of [["contract", 40], ["tx_hash", 64], ["block_hash", 64]]) {
            if (!isHex(anchor[k], digits))
                throw new VerifyError("anchor", `${k} ${JSON.stringify(anchor[k])} is not 0x and ${digits} hex digits`);
        }
        if (anchor.chain_id === 0)
            throw new VerifyError("anchor", "chain_id 0");
        passed.push(`anchor names this checkpoint (size ${anchor.tree_size}) and this log (log_id = keccak256 of the origin); whether the chain holds it needs the chain`);
    }
    // 8. source signature
    let signedBy;
    if (record.signature) {
        const s = record.signature;
        const ok = await ed25519Verify(fromBase64(s.public_key), signedMessage(record), fromBase64(s.sig));
        if (!ok)
            throw new VerifyError("signature", `the source signature by key ${JSON.stringify(s.key_id)} does not verify`);
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
