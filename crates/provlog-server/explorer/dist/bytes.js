// Bytes for the verifier: strict base64 (as the core's engine), hex, and the RFC 9162 hashes over
// WebCrypto's SHA-256.
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
export function toBase64(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
        const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
        out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
        out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
        out += i + 2 < bytes.length ? B64[n & 63] : "=";
    }
    return out;
}
/** Standard base64 with padding, refusing non-canonical text (as the core's base64 engine does). */
export function fromBase64(text) {
    if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text))
        return null;
    const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
    const out = new Uint8Array((text.length / 4) * 3 - pad);
    let o = 0;
    for (let i = 0; i < text.length; i += 4) {
        const v = [0, 1, 2, 3].map((k) => (text[i + k] === "=" ? 0 : B64.indexOf(text[i + k])));
        const n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
        for (const b of [(n >> 16) & 255, (n >> 8) & 255, n & 255])
            if (o < out.length)
                out[o++] = b;
    }
    // Non-zero padding bits, or '=' in the middle, do not survive the round trip.
    return toBase64(out) === text ? out : null;
}
export function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
export function equal(a, b) {
    return a.length === b.length && a.every((v, i) => v === b[i]);
}
export function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
        out.set(p, o);
        o += p.length;
    }
    return out;
}
// WebCrypto takes buffers it owns the type of (not views of shared memory): copy into one.
export const own = (u) => Uint8Array.from(u);
export async function sha256(data) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", own(data)));
}
/** RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 || data). */
export async function leafHash(data) {
    return sha256(concat(Uint8Array.of(0), data));
}
