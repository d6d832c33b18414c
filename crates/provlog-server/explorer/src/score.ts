// Scores (provlog-score/v1) of verified track records, computed as provlog_core::score::score
// computes them: the rules the source declared in its registry (a ScoringSpec), the window's
// signals and commitments after the declaration, and the first outcome of each, from the outcome
// source's complete records, at or after its horizon. Every sum runs in sequence order over
// doubles with the core's operations (+ − × ÷, abs, the correctly rounded square root), so the
// figures are the core's bit for bit; the JSON is the core's Score as serde writes it (hashes in
// base64, times as the core's Timestamp text, a number that is not finite as null), held to
// tests/vectors/scores.json. Also the data of the source page's chart, as pure functions.

import { canonicalize, Json } from "./jcs.js";
import { sha256, toBase64 } from "./bytes.js";
import { ScoringSpec, specJson } from "./evidence.js";
import { VerifiedTrackRecord, Window } from "./trackrecord.js";

export const SCORE_FORMAT_V1 = "provlog-score/v1";

/** A record that counted, with its outcome. */
export interface Scored {
  /** Sequence number of the signal, or of the commitment a reveal opened. */
  seq: number;
  at: string;
  value: number;
  outcome: number;
  /** Sequence number of the outcome record, in the outcome source's chain. */
  outcome_seq: number;
  outcome_at: string;
  /** Signals: value × outcome. */
  return?: number | null;
  /** Predictions: value − outcome. */
  error?: number | null;
}

export interface SignalMetrics {
  hits: number;
  misses: number;
  flat: number;
  /** hits / (hits + misses); null without a non-zero signal. */
  hit_rate: number | null;
  /** Π (1 + rᵢ) − 1 over every scored signal, in sequence order. */
  cumulative_return: number | null;
  /** Σ rᵢ / (hits + misses); null without a position taken. */
  mean_return: number | null;
}

export interface PredictionMetrics {
  mae: number | null;
  rmse: number | null;
  directional_accuracy: number | null;
}

/** provlog_core::score::Score, as serde writes it. */
export interface Score {
  format: string;
  source: string;
  window: Window;
  checkpoint_size: number;
  /** Base64. */
  checkpoint_root: string;
  spec: ScoringSpec;
  /** Base64 SHA-256 of the spec's canonical JSON. */
  spec_sha256: string;
  declared_seq: number;
  outcome_source: string;
  /** Signals and commitments of the window after the declaration… */
  records: number;
  /** …of which these have an outcome and count; */
  scored: number;
  /** revealed or open, with no outcome counting yet; */
  unresolved: number;
  /** commitments not revealed yet, before their reveal_by; */
  pending: number;
  /** commitments whose reveal_by passed unrevealed (count them as losses); */
  expired_unrevealed: number;
  /** whose value (or outcome) is not where the spec says, or not of its kind. */
  unscorable: number;
  /** Signals and commitments of the window from before the declaration: not scored. */
  before_declaration: number;
  signals?: SignalMetrics;
  predictions?: PredictionMetrics;
  /** Every record that counted, in sequence order. */
  scores: Scored[];
}

/** Why a verified bundle cannot be scored (provlog_core::score::ScoreError, by its check). */
export class ScoreError extends Error {
  constructor(
    readonly check: "no_scoring_spec" | "payload_missing",
    message: string,
  ) {
    super(`${check}: ${message}`);
  }
}

/** What became of each signal and commitment of the window, by sequence number (for the page). */
export type RecordScore = "scored" | "unresolved" | "pending" | "expired_unrevealed" | "unscorable" | "before_declaration";

/** How serde_json writes an f64: a number that is not finite is null. */
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * An item's bytes as `serde_json::from_slice::<Value>` reads them, or undefined where it fails:
 * UTF-8 without a BOM, no lone surrogate, no number beyond a double, at most 127 levels of
 * nesting (its recursion limit); a key given twice keeps its last value, as JSON.parse does.
 */
export function serdeValue(data: Uint8Array): Json | undefined {
  let value: Json;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data)) as Json;
  } catch {
    return undefined;
  }
  const stack: [Json, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === "string") {
      if (!v.isWellFormed()) return undefined;
    } else if (typeof v === "number") {
      if (!Number.isFinite(v)) return undefined;
    } else if (v !== null && typeof v === "object") {
      if (depth + 1 >= 128) return undefined;
      if (Array.isArray(v)) {
        for (const c of v) stack.push([c, depth + 1]);
      } else {
        for (const [k, c] of Object.entries(v)) {
          if (!k.isWellFormed()) return undefined;
          stack.push([c, depth + 1]);
        }
      }
    }
  }
  return value;
}

/** serde_json's `Value::pointer` (RFC 6901): the value at `pointer`, or undefined. */
export function pointer(value: Json, pointer: string): Json | undefined {
  if (pointer === "") return value;
  if (!pointer.startsWith("/")) return undefined;
  let target: Json | undefined = value;
  for (const raw of pointer.split("/").slice(1)) {
    const token = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(target)) {
      // No sign, no leading zero (parse_index), then an index into the list.
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      const i = Number(token);
      target = i < target.length ? target[i] : undefined;
    } else if (target !== null && typeof target === "object") {
      target = Object.prototype.hasOwnProperty.call(target, token) ? target[token] : undefined;
    } else {
      return undefined;
    }
    if (target === undefined) return undefined;
  }
  return target;
}

/** The number at `pointer` in `value`: a JSON number, nothing else (the core's number_at). */
export function numberAt(value: Json, p: string): number | undefined {
  const v = pointer(value, p);
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);

/** Unix milliseconds of a record time (YYYY-MM-DDTHH:MM:SS.sssZ, UTC). */
export const unixMillis = (at: string) => Date.parse(at);

interface Unit {
  seq: number;
  at: string;
  payload: Json;
  /** The leaf an outcome names as its parent (base64): the signal, or the reveal of a commitment. */
  parent: string;
}

/** Scores a verified bundle by its source's declared spec; throws a ScoreError. */
export async function score(bundle: VerifiedTrackRecord): Promise<Score> {
  return (await scoreDetail(bundle)).score;
}

/** The score, and what became of each signal and commitment of the window (by seq). */
export async function scoreDetail(bundle: VerifiedTrackRecord): Promise<{ score: Score; records: Map<number, RecordScore> }> {
  const declared = bundle.scoring;
  if (!declared) throw new ScoreError("no_scoring_spec", "the source declared no scoring spec (as of the bundle's checkpoint)");
  const spec = declared.spec;
  const statuses = new Map<number, RecordScore>();
  const s: Score = {
    format: SCORE_FORMAT_V1,
    source: bundle.source,
    window: windowJson(bundle.window),
    checkpoint_size: Number(bundle.checkpoint.size),
    checkpoint_root: toBase64(bundle.checkpoint.root),
    spec: specJson(spec),
    spec_sha256: toBase64(await sha256(new TextEncoder().encode(canonicalize(spec as unknown as Json)))),
    declared_seq: declared.seq,
    outcome_source: spec.outcome_source ?? bundle.source,
    records: 0,
    scored: 0,
    unresolved: 0,
    pending: 0,
    expired_unrevealed: 0,
    unscorable: 0,
    before_declaration: 0,
    scores: [],
  };

  const bySeq = new Map(bundle.records.map((r) => [r.seq, toBase64(r.leafHash)]));
  const commitments = new Map(bundle.commitments.map((c) => [c.seq, c]));
  const units: Unit[] = [];
  for (const entry of bundle.records) {
    const kind = entry.record.kind;
    if (kind !== "signal" && kind !== "commitment") continue;
    if (entry.seq < declared.seq) {
      s.before_declaration++;
      statuses.set(entry.seq, "before_declaration");
      continue;
    }
    s.records++;
    const at = entry.record.received_at;
    if (kind === "signal") {
      if (!entry.item) throw new ScoreError("payload_missing", `record seq ${entry.seq} carries no payload: the bundle cannot be scored`);
      const payload = serdeValue(entry.item);
      if (payload === undefined) {
        s.unscorable++;
        statuses.set(entry.seq, "unscorable");
      } else {
        units.push({ seq: entry.seq, at, payload, parent: toBase64(entry.leafHash) });
      }
    } else {
      const state = commitments.get(entry.seq);
      if (state?.status === "revealed" && state.reveal) {
        const parent = bySeq.get(state.reveal.seq);
        if (parent === undefined) throw new Error(`the reveal of seq ${entry.seq} is not in the window`);
        units.push({ seq: entry.seq, at, payload: state.reveal.payload, parent });
      } else if (state?.status === "expired_unrevealed") {
        s.expired_unrevealed++;
        statuses.set(entry.seq, "expired_unrevealed");
      } else {
        s.pending++;
        statuses.set(entry.seq, "pending");
      }
    }
  }

  // Each parent's outcomes, in the outcome source's sequence order.
  const outcomes = new Map<string, { seq: number; at: string; payload: Json | undefined }[]>();
  for (const entry of bundle.outcomes?.records ?? []) {
    if (entry.record.kind !== "outcome") continue;
    const parent = entry.record.parents[0];
    if (parent === undefined) continue;
    const payload = entry.item ? serdeValue(entry.item) : undefined;
    const list = outcomes.get(parent) ?? [];
    list.push({ seq: entry.seq, at: entry.record.received_at, payload });
    outcomes.set(parent, list);
  }

  const horizonMs = spec.horizon_s * 1000;
  // Each scored prediction's reference for its direction (0 without a baseline).
  const baselines: number[] = [];
  for (const unit of units) {
    let value = numberAt(unit.payload, spec.value);
    if (value !== undefined && spec.kind === "signals" && value !== -1 && value !== 0 && value !== 1) value = undefined;
    const base = spec.baseline === undefined ? 0 : numberAt(unit.payload, spec.baseline);
    if (value === undefined || base === undefined) {
      s.unscorable++;
      statuses.set(unit.seq, "unscorable");
      continue;
    }
    // The first outcome from the horizon on counts; earlier ones could not have known it.
    const due = unixMillis(unit.at) + horizonMs;
    const found = outcomes.get(unit.parent)?.find((o) => unixMillis(o.at) >= due);
    if (!found) {
      s.unresolved++;
      statuses.set(unit.seq, "unresolved");
      continue;
    }
    const outcome = found.payload === undefined ? undefined : numberAt(found.payload, spec.outcome);
    if (outcome === undefined) {
      s.unscorable++;
      statuses.set(unit.seq, "unscorable");
      continue;
    }
    const scored: Scored = { seq: unit.seq, at: unit.at, value, outcome, outcome_seq: found.seq, outcome_at: found.at };
    if (spec.kind === "signals") scored.return = value * outcome;
    else scored.error = value - outcome;
    s.scores.push(scored);
    statuses.set(unit.seq, "scored");
    baselines.push(base);
  }
  s.scored = s.scores.length;
  if (spec.kind === "signals") s.signals = signalMetrics(s.scores);
  else s.predictions = predictionMetrics(s.scores, baselines);
  // serde writes a return or error that is not finite as null.
  for (const x of s.scores) {
    if (x.return !== undefined) x.return = finite(x.return ?? NaN);
    if (x.error !== undefined) x.error = finite(x.error ?? NaN);
  }
  return { score: s, records: statuses };
}

/** A window as serde writes it: its bounds in declaration order, absent ones omitted. */
function windowJson(w: Window): Window {
  const out: Window = {};
  if (w.since !== undefined) out.since = w.since;
  if (w.until !== undefined) out.until = w.until;
  if (w.from_seq !== undefined) out.from_seq = w.from_seq;
  if (w.to_seq !== undefined) out.to_seq = w.to_seq;
  return out;
}

function signalMetrics(scores: Scored[]): SignalMetrics {
  let hits = 0;
  let misses = 0;
  let flat = 0;
  let growth = 1;
  let sum = 0;
  for (const x of scores) {
    const r = x.return ?? 0;
    growth *= 1 + r;
    if (x.value === 0) {
      flat++;
      continue;
    }
    sum += r;
    if (r > 0) hits++;
    else misses++;
  }
  const positions = hits + misses;
  return {
    hits,
    misses,
    flat,
    hit_rate: positions > 0 ? finite(hits / positions) : null,
    cumulative_return: finite(growth - 1),
    mean_return: positions > 0 ? finite(sum / positions) : null,
  };
}

function predictionMetrics(scores: Scored[], baselines: number[]): PredictionMetrics {
  if (scores.length === 0) return { mae: null, rmse: null, directional_accuracy: null };
  const n = scores.length;
  let abs = 0;
  let squares = 0;
  let same = 0;
  scores.forEach((x, i) => {
    const e = x.error ?? 0;
    abs += Math.abs(e);
    squares += e * e;
    if (sign(x.value - baselines[i]) === sign(x.outcome - baselines[i])) same++;
  });
  return { mae: finite(abs / n), rmse: finite(Math.sqrt(squares / n)), directional_accuracy: finite(same / n) };
}

/**
 * Where two scores differ, as JSON paths (`$.signals.hit_rate`); empty when they are the same
 * JSON. Numbers compare as doubles: `exact`, bit for bit (−0 is not 0); otherwise as numbers
 * (−0 is 0, as any JSON tool that rewrites the text may make it).
 */
export function scoreDifferences(a: unknown, b: unknown, exact = true, path = "$"): string[] {
  if (typeof a === "number" && typeof b === "number") return (exact ? Object.is(a, b) : a === b) ? [] : [path];
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b ? [] : [path];
  if (Array.isArray(a) !== Array.isArray(b)) return [path];
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${path}.length`];
    return a.flatMap((x, i) => scoreDifferences(x, b[i], exact, `${path}[${i}]`));
  }
  const ao = a as { [k: string]: unknown };
  const bo = b as { [k: string]: unknown };
  const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
  return keys.flatMap((k) => (Object.hasOwn(ao, k) && Object.hasOwn(bo, k) ? scoreDifferences(ao[k], bo[k], exact, `${path}.${k}`) : [`${path}.${k}`]));
}

// ---------------------------------------------------------------------------------------------
// The chart's data (pure: the page draws it as SVG)

/** A scored signal and the cumulative return compounded up to and including it. */
export interface ReturnPoint {
  seq: number;
  at: string;
  ms: number;
  return: number;
  /** Π (1 + rᵢ) − 1 over the scored signals so far, in sequence order. */
  cumulative: number;
}

/**
 * The cumulative return after each scored signal, compounded in sequence order exactly as the
 * score's `cumulative_return` is (the last point's is that figure, to the bit).
 */
export function cumulativeReturns(s: Score): ReturnPoint[] {
  let growth = 1;
  return s.scores.map((x) => {
    const r = x.return ?? 0;
    growth *= 1 + r;
    return { seq: x.seq, at: x.at, ms: unixMillis(x.at), return: r, cumulative: growth - 1 };
  });
}

/** A scored prediction: what was predicted when, and what came true. */
export interface PredictionPoint {
  seq: number;
  at: string;
  ms: number;
  predicted: number;
  outcome: number;
  outcomeSeq: number;
  outcomeAt: string;
  outcomeMs: number;
  error: number | null;
}

export function predictionPoints(s: Score): PredictionPoint[] {
  return s.scores.map((x) => ({
    seq: x.seq,
    at: x.at,
    ms: unixMillis(x.at),
    predicted: x.value,
    outcome: x.outcome,
    outcomeSeq: x.outcome_seq,
    outcomeAt: x.outcome_at,
    outcomeMs: unixMillis(x.outcome_at),
    error: x.error ?? null,
  }));
}

/** A linear map of [d0, d1] onto [r0, r1]; a one-point domain maps to the middle. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (x: number) => number {
  if (!(d1 > d0)) return () => (r0 + r1) / 2;
  return (x) => r0 + ((x - d0) / (d1 - d0)) * (r1 - r0);
}

/** Round ticks (1, 2 or 5 × 10ⁿ apart) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  // Multiples of the step, each rounded to what it is printed as (0.6, not 0.6000000000000001).
  for (let i = Math.ceil(min / step - 1e-9); i * step <= max + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)) + 0);
  return ticks;
}

export interface ChartSeries {
  /** "cumulative" (signals), "predicted" and "outcome" (predictions). */
  name: string;
  /** [x, y] in the SVG's coordinates, one per scored record (after a start at 0 for "cumulative"). */
  points: [number, number][];
  /** The scored record (seq) of each point; null for the start. */
  seqs: (number | null)[];
  /** The plotted value of each point. */
  values: number[];
  /** Whether the points make a line (the cumulative return) or stand alone (each prediction is its own). */
  connect: boolean;
}

export interface ChartModel {
  kind: "signals" | "predictions";
  width: number;
  height: number;
  /** The plot area inside the axes. */
  plot: { left: number; top: number; right: number; bottom: number };
  /**
   * What x is: the records' times when each scored record has a time of its own, else their
   * order (records logged together, at one time, would stand in one column on a time axis).
   */
  xAxis: "time" | "sequence";
  /** What y is: linear, or logarithmic for predictions of positive values spanning 100× or more. */
  yScale: "linear" | "log";
  xTicks: { x: number; label: string; anchor: "start" | "middle" | "end" }[];
  yTicks: { y: number; label: string }[];
  /** y of the value 0 when it is in view (signals: no gain, no loss). */
  zeroY: number | null;
  series: ChartSeries[];
  /** Predictions: each record's error, from the predicted point to the outcome's. */
  errors: { seq: number; x: number; y1: number; y2: number }[];
}

const percent = (x: number) => `${Number((x * 100).toPrecision(6))}%`;
const number = (x: number) => `${Number(x.toPrecision(6))}`;

/**
 * A time axis label: the time of day (UTC) for spans within a day, with milliseconds when ticks
 * `step` ms apart would otherwise read alike; else the date.
 */
function timeLabel(ms: number, span: number, step = span): string {
  const iso = new Date(ms).toISOString();
  if (span > 86_400_000) return iso.slice(0, 10);
  return step < 1000 ? iso.slice(11, 23) : iso.slice(11, 19);
}

/** Where to put `count` ticks over indices 0..=last: evenly, first and last included. */
function indexTicks(last: number, count: number): number[] {
  const n = Math.min(count, last + 1);
  if (n <= 1) return [0];
  return [...new Set(Array.from({ length: n }, (_, i) => Math.round((last * i) / (n - 1))))];
}

/** Powers of ten covering [min, max] (both > 0), one per decade, or the ends when within one. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.ceil(Math.log10(min) - 1e-9); 10 ** k <= max * (1 + 1e-9); k++) ticks.push(Number((10 ** k).toPrecision(12)));
  return ticks;
}

/**
 * The chart of a score: for signals, the cumulative return (compounded in sequence order) after
 * each scored signal, from 0 before the first; for predictions, the predicted value and the
 * outcome of each scored record. x is the records' times when each has its own, else their
 * sequence order; y is logarithmic for positive predictions spanning 100× or more (prices of
 * tokens worth 0.1 and 60,000). Null without a scored record (or with figures that are not
 * finite).
 */
export function chartModel(s: Score, width = 720, height = 280): ChartModel | null {
  if (s.scores.length === 0) return null;
  const kind = s.spec.kind;
  // Predictions: room above the plot for the legend.
  const plot = { left: 70, top: kind === "predictions" ? 30 : 16, right: width - 16, bottom: height - 36 };
  let raw: { name: string; ms: number[]; values: number[]; seqs: (number | null)[] }[];
  if (kind === "signals") {
    const pts = cumulativeReturns(s);
    raw = [{ name: "cumulative", ms: [pts[0].ms, ...pts.map((p) => p.ms)], values: [0, ...pts.map((p) => p.cumulative)], seqs: [null, ...pts.map((p) => p.seq)] }];
  } else {
    const pts = predictionPoints(s);
    raw = [
      { name: "predicted", ms: pts.map((p) => p.ms), values: pts.map((p) => p.predicted), seqs: pts.map((p) => p.seq) },
      { name: "outcome", ms: pts.map((p) => p.ms), values: pts.map((p) => p.outcome), seqs: pts.map((p) => p.seq) },
    ];
  }
  const scoredMs = s.scores.map((x) => unixMillis(x.at));
  const xs = raw.flatMap((r) => r.ms);
  const ys = raw.flatMap((r) => r.values);
  if (![...xs, ...ys].every(Number.isFinite)) return null;

  // x: time, unless two scored records share one; then each its own step, in sequence order.
  const xAxis: "time" | "sequence" = new Set(scoredMs).size === scoredMs.length ? "time" : "sequence";
  // The index of each point of a series (signals: the start at 0, then one per scored record).
  const offset = kind === "signals" ? 1 : 0;
  const lastIndex = s.scores.length - 1 + offset;
  let xOf: (ms: number, i: number) => number;
  let xTicks: ChartModel["xTicks"];
  const anchorOf = (i: number, n: number): "start" | "middle" | "end" => (n === 1 ? "middle" : i === 0 ? "start" : i === n - 1 ? "end" : "middle");
  if (xAxis === "time") {
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const fx = linearScale(x0, x1, plot.left, plot.right);
    xOf = (ms) => fx(ms);
    const span = x1 - x0;
    const xCount = Math.min(5, new Set(xs).size);
    const step = xCount > 1 ? span / (xCount - 1) : span;
    xTicks = Array.from({ length: xCount }, (_, i) => {
      const ms = xCount === 1 ? x0 : x0 + (span * i) / (xCount - 1);
      return { x: fx(ms), label: timeLabel(ms, span, step), anchor: anchorOf(i, xCount) };
    });
  } else {
    // Half a step of room at each end: no point on the y axis.
    const fx = linearScale(-0.5, lastIndex + 0.5, plot.left, plot.right);
    xOf = (_, i) => fx(i);
    // Ticks at scored records, named by their seq.
    const at = indexTicks(s.scores.length - 1, 5);
    xTicks = at.map((j, i) => ({ x: fx(j + offset), label: `seq ${s.scores[j].seq}`, anchor: anchorOf(i, at.length) }));
  }

  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const yScale: "linear" | "log" = kind === "predictions" && y0 > 0 && y1 / y0 >= 100 ? "log" : "linear";
  let fy: (v: number) => number;
  let yTicks: ChartModel["yTicks"];
  let zeroY: number | null = null;
  const label = kind === "signals" ? percent : number;
  if (yScale === "log") {
    // Half a decade of room at each end.
    const [l0, l1] = [Math.log10(y0) - 0.25, Math.log10(y1) + 0.25];
    const f = linearScale(l0, l1, plot.bottom, plot.top);
    fy = (v) => f(Math.log10(v));
    yTicks = logTicks(10 ** l0, 10 ** l1).map((v) => ({ y: fy(v), label: label(v) }));
  } else {
    if (kind === "signals") [y0, y1] = [Math.min(y0, 0), Math.max(y1, 0)];
    if (y0 === y1) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
    const pad = (y1 - y0) * 0.05;
    [y0, y1] = [y0 - pad, y1 + pad];
    fy = linearScale(y0, y1, plot.bottom, plot.top);
    yTicks = niceTicks(y0, y1, 5).map((v) => ({ y: fy(v), label: label(v) }));
    zeroY = y0 <= 0 && 0 <= y1 ? fy(0) : null;
  }
  const series: ChartSeries[] = raw.map((r) => ({
    name: r.name,
    points: r.ms.map((m, i) => [xOf(m, i), fy(r.values[i])] as [number, number]),
    seqs: r.seqs,
    values: r.values,
    connect: kind === "signals",
  }));
  const errors =
    kind === "predictions"
      ? s.scores.map((x, i) => ({ seq: x.seq, x: series[0].points[i][0], y1: series[0].points[i][1], y2: series[1].points[i][1] }))
      : [];
  return { kind, width, height, plot, xAxis, yScale, xTicks, yTicks, zeroY, series, errors };
}
