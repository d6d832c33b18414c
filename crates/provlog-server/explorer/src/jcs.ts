// RFC 8785 (JCS) canonical JSON. JCS is defined by ECMAScript's own serialisation of strings and
// numbers, so JSON.stringify does the scalars and only object key order needs doing: by UTF-16
// code units, which is how JavaScript compares strings.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class CanonicalError extends Error {}

/** The canonical text of a JSON value; refuses what has no canonical form (NaN, ±Infinity). */
export function canonicalize(value: Json): string {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CanonicalError("a number that does not fit in a double");
    return JSON.stringify(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k])}`).join(",")}}`;
}

/** Nesting depth as provlog-core counts it: a scalar is 0, an object or array 1 + its deepest child. */
export function nestingDepth(value: Json): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((m, c) => Math.max(m, nestingDepth(c)), 0);
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * provlog-core's strict-input rules that survive JSON.parse: no lone surrogates (in keys or
 * strings), no integral number with 2^53 <= |x| < 10^21 (JCS would silently change it), no
 * number beyond a double. Returns the JSON path of the first offence, or null.
 */
export function strictOffence(value: Json, path = "$"): string | null {
  if (typeof value === "string") return value.isWellFormed() ? null : `${path}: lone surrogate`;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return `${path}: number beyond a double`;
    const a = Math.abs(value);
    if (Number.isInteger(value) && a > MAX_SAFE && a < 1e21) return `${path}: integer beyond ±(2^53-1)`;
    return null;
  }
  if (value === null || typeof value === "boolean") return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const o = strictOffence(value[i], `${path}[${i}]`);
      if (o) return o;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    if (!k.isWellFormed()) return `${path}: lone surrogate in a key`;
    const o = strictOffence(v, `${path}.${k}`);
    if (o) return o;
  }
  return null;
}

/**
 * The first key that appears twice in one object of `text` (compared after unescaping), or
 * null. JSON.parse keeps the last of duplicates silently; provlog-core refuses them. `text` must
 * already be valid JSON.
 */
export function duplicateKey(text: string): string | null {
  const objects: (Set<string> | null)[] = []; // null: an array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const keys = objects[objects.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === "{") {
      objects.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      objects.push(null);
    } else if (c === "}" || c === "]") {
      objects.pop();
    } else if (c === ",") {
      expectKey = objects[objects.length - 1] instanceof Set;
    }
  }
  return null;
}

/** What strict input refuses (provlog-core's record::json::parse_json_with_depth). */
export class StrictJsonError extends Error {}

/**
 * Bytes as provlog-core's strict JSON reader reads them: UTF-8 (a BOM is not whitespace), no
 * duplicate keys, the rules of strictOffence, and containers nested at most `maxDepth` deep.
 * Returns the text and its value; throws a StrictJsonError.
 */
export function parseStrictJson(data: Uint8Array, maxDepth: number): { text: string; value: Json } {
  let text: string;
  let value: Json;
  try {
    // fatal: invalid UTF-8 is refused; ignoreBOM: a BOM stays in the text (and fails the parse).
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data);
  } catch {
    throw new StrictJsonError("invalid UTF-8");
  }
  try {
    value = JSON.parse(text) as Json;
  } catch (e) {
    throw new StrictJsonError(`invalid JSON: ${(e as Error).message}`);
  }
  // Depth first, without recursion: the other checks recurse.
  if (deeperThan(value, maxDepth)) throw new StrictJsonError(`nested deeper than ${maxDepth}`);
  const dup = duplicateKey(text);
  if (dup !== null) throw new StrictJsonError(`duplicate key ${JSON.stringify(dup)}`);
  const offence = strictOffence(value);
  if (offence) throw new StrictJsonError(offence);
  return { text, value };
}

/** Whether `value` nests deeper than `max` (as nestingDepth counts), found without recursion. */
export function deeperThan(value: Json, max: number): boolean {
  const stack: [Json, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > max) return true;
    for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push([c, depth + 1]);
  }
  return false;
}
