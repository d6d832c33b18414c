// The browser's scores against the golden vectors the Rust core generates
// (tests/vectors/scores.json): each case's score is provlog-core's Score JSON exactly (every
// number the same double) and within 1e-12 of the figures computed by hand; and the source page's
// chart data, from the same vectors. Run: npm test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { parseVerifierKey } from "../dist/verify.js";
import { TrackRecordError, verifyTrackRecord } from "../dist/trackrecord.js";
import { MAX_HORIZON_S, readRegistryEvent, RegistryEventError } from "../dist/evidence.js";
import {
  chartModel,
  cumulativeReturns,
  linearScale,
  niceTicks,
  numberAt,
  pointer,
  predictionPoints,
  score,
  ScoreError,
  scoreDetail,
  scoreDifferences,
  serdeValue,
} from "../dist/score.js";

const vectors = fileURLToPath(new URL("../../../../tests/vectors/", import.meta.url));
const v = JSON.parse(readFileSync(vectors + "scores.json", "utf8"));
const keys = async () => [await parseVerifierKey(v.log_vkey)];
const caseNamed = (desc) => v.cases.find((c) => c.desc === desc);
const verified = async (desc) => verifyTrackRecord(caseNamed(desc).bundle, await keys());
const WHOLE = "signals scored by a price source, the whole history";
const LATER = "signals, a later window";
const PREDICTIONS = "predictions scored by their own outcomes";

const close = (got, want, what) => assert.ok(Math.abs(got - want) <= 1e-12, `${what}: ${got}, by hand ${want}`);

test("score cases: provlog-core's Score JSON exactly, and the hand-computed figures within 1e-12", async () => {
  assert.equal(v.cases.length, 3);
  for (const c of v.cases) {
    for (const bundle of [c.bundle, JSON.stringify(c.bundle)]) {
      const s = await score(await verifyTrackRecord(bundle, await keys()));
      // Exactly: deepStrictEqual compares numbers with Object.is (−0 is not 0), and so does
      // scoreDifferences, which names what differs.
      assert.deepEqual(scoreDifferences(s, c.computed), [], c.desc);
      assert.deepStrictEqual(JSON.parse(JSON.stringify(s)), JSON.parse(JSON.stringify(c.computed)), c.desc);
      assert.deepStrictEqual(s, c.computed, c.desc);
      for (const [key, want] of Object.entries(c.expect)) {
        if (key === "signals" || key === "predictions") {
          for (const [metric, w] of Object.entries(want)) {
            if (w === null) assert.equal(s[key][metric], null, `${c.desc}: ${metric}`);
            else close(s[key][metric], w, `${c.desc}: ${metric}`);
          }
        } else if (key === "returns" || key === "errors") {
          const field = key === "returns" ? "return" : "error";
          assert.equal(s.scores.length, want.length, `${c.desc}: scored records`);
          s.scores.forEach((g, i) => {
            assert.equal(g.seq, want[i][0], c.desc);
            close(g[field], want[i][1], `${c.desc}: ${field} of seq ${g.seq}`);
          });
        } else {
          assert.deepEqual(s[key], want, `${c.desc}: ${key}`);
        }
      }
    }
  }
  // A flat signal's return is −0 (0 × −0.03), as the core writes it (-0.0).
  const flat = (await score(await verified(WHOLE))).scores.find((x) => x.value === 0);
  assert.ok(Object.is(flat.return, -0));
});

test("what each record of the window came to, and what the score refuses", async () => {
  const t = await verified(WHOLE);
  const { score: s, records } = await scoreDetail(t);
  assert.deepEqual(
    [...records].sort((a, b) => a[0] - b[0]),
    [
      [1, "before_declaration"],
      [3, "scored"],
      [4, "scored"],
      [5, "scored"],
      [6, "scored"],
      [7, "unscorable"], // signal 2: not −1, 0 or 1
      [8, "scored"],
      [9, "unresolved"],
      [10, "scored"], // a commitment, scored by its reveal's outcome
      [11, "expired_unrevealed"],
      [13, "pending"],
    ],
  );
  const count = (what) => [...records.values()].filter((x) => x === what).length;
  assert.deepEqual(
    [s.scored, s.unscorable, s.unresolved, s.expired_unrevealed, s.pending, s.before_declaration],
    ["scored", "unscorable", "unresolved", "expired_unrevealed", "pending", "before_declaration"].map(count),
  );
  assert.equal(s.records, records.size - s.before_declaration);

  // As the core's unit test: no declaration, nothing to score by; a signal without its payload
  // cannot be scored (not skipped); a horizon past every outcome leaves every unit unresolved.
  await assert.rejects(score({ ...t, scoring: undefined }), (e) => e instanceof ScoreError && e.check === "no_scoring_spec");
  const bare = { ...t, records: t.records.map((e) => (e.seq === 3 ? { ...e, item: undefined } : e)) };
  await assert.rejects(score(bare), (e) => e instanceof ScoreError && e.check === "payload_missing" && /seq 3/.test(e.message));
  const later = await score({ ...t, scoring: { ...t.scoring, spec: { ...t.scoring.spec, horizon_s: 1000 } } });
  assert.deepEqual([later.scored, later.unresolved], [0, 7]);
  assert.equal(later.signals.hit_rate, null);
  assert.equal(later.signals.mean_return, null);
  assert.equal(later.signals.cumulative_return, 0);
  // A bundle whose outcome lacks its item is refused (check "item": it would turn a loss into
  // "unscorable"); given one anyway, the score leaves its record unscorable, as the core's does
  // (the first outcome from the horizon on counts, whatever it holds).
  const stripped = structuredClone(caseNamed(WHOLE).bundle);
  delete stripped.outcomes.records.find((e) => JSON.parse(e.record).seq === 3).item;
  await assert.rejects(verifyTrackRecord(stripped, await keys()), (e) => e instanceof TrackRecordError && e.check === "item");
  const bareOutcome = { ...t.outcomes, records: t.outcomes.records.map((e) => (e.seq === 3 ? { ...e, item: undefined } : e)) };
  const s2 = await score({ ...t, outcomes: bareOutcome });
  assert.deepEqual([s2.scored, s2.unscorable, s2.signals.misses], [5, 2, 0]);
  // The predictions' score has no signal metrics, and each scored record its error only.
  const p = await score(await verified(PREDICTIONS));
  assert.equal(p.signals, undefined);
  assert.ok(p.scores.every((x) => !("return" in x) && typeof x.error === "number"));
});

test("payloads are read as serde_json reads them, values found as Value::pointer finds them", () => {
  const enc = (t) => new TextEncoder().encode(t);
  assert.deepEqual(serdeValue(enc('{"a":1,"a":2}')), { a: 2 });
  assert.equal(serdeValue(enc("\ufeff{}")), undefined);
  assert.equal(serdeValue(Uint8Array.of(0x7b, 0xff, 0x7d)), undefined);
  assert.equal(serdeValue(enc('{"x":"\\ud800"}')), undefined);
  assert.equal(serdeValue(enc('{"\\udc00":1}')), undefined);
  assert.deepEqual(serdeValue(enc('{"x":"\\ud800\\udc00"}')), { x: "\u{10000}" });
  assert.equal(serdeValue(enc('{"x":1e400}')), undefined);
  assert.ok(Object.is(serdeValue(enc("-0")), -0));
  assert.equal(serdeValue(enc("1 2")), undefined);
  // serde_json's recursion limit: 127 levels read, 128 do not.
  const nest = (n) => "[".repeat(n) + "]".repeat(n);
  assert.ok(serdeValue(enc(`{"x":1,"y":${nest(126)}}`)));
  assert.equal(serdeValue(enc(`{"x":1,"y":${nest(127)}}`)), undefined);

  const doc = { a: { "b/c": [10, 20, { "m~n": 3 }] }, "": 4, s: "5", n: null };
  assert.equal(pointer(doc, ""), doc);
  assert.equal(pointer(doc, "/"), 4);
  assert.equal(pointer(doc, "/a/b~1c/1"), 20);
  assert.equal(pointer(doc, "/a/b~1c/2/m~0n"), 3);
  for (const p of ["a", "/a/b~1c/01", "/a/b~1c/+1", "/a/b~1c/-1", "/a/b~1c/3", "/a/b~1c/1e0", "/x", "/s/0", "/constructor", "/a/toString"]) {
    assert.equal(pointer(doc, p), undefined, p);
  }
  assert.equal(numberAt(doc, "/a/b~1c/0"), 10);
  for (const p of ["/s", "/n", "/a", ""]) assert.equal(numberAt(doc, p), undefined, p);
});

test("scoring-declared registry events: read as RegistryEvent::from_item reads them", () => {
  const item = (o) => new TextEncoder().encode(typeof o === "string" ? o : JSON.stringify(o));
  const spec = { horizon_s: 2, kind: "signals", outcome: "/return", outcome_source: "acme-prices", value: "/signal" };
  const event = { event: "scoring-declared", spec };
  assert.deepEqual(readRegistryEvent(item(event)), event);
  const declared = caseNamed(WHOLE).bundle.scoring.item;
  assert.deepEqual(readRegistryEvent(Uint8Array.from(atob(declared), (c) => c.charCodeAt(0))), event);
  const predictions = { baseline: "/price_now", horizon_s: 2, kind: "predictions", outcome: "/price", value: "/predicted" };
  assert.deepEqual(readRegistryEvent(item({ event: "scoring-declared", spec: predictions })).spec, predictions);
  const refused = (o) => assert.throws(() => readRegistryEvent(item(o)), RegistryEventError, typeof o === "string" ? o : JSON.stringify(o));
  // The core's specs_that_could_not_score_are_refused and a_spec_with_unknown_fields_is_refused.
  for (const change of [{ value: "signal" }, { outcome: "return" }, { horizon_s: 0 }, { horizon_s: MAX_HORIZON_S + 1 }, { baseline: "/price" }, { weight: 2 }]) {
    refused({ event: "scoring-declared", spec: Object.fromEntries(Object.entries({ ...spec, ...change }).sort()) });
  }
  assert.equal(readRegistryEvent(item({ event: "scoring-declared", spec: { ...spec, horizon_s: MAX_HORIZON_S } })).spec.horizon_s, MAX_HORIZON_S);
  assert.equal(readRegistryEvent(item({ event: "scoring-declared", spec: { ...spec, value: "" } })).spec.value, "");
  // Not canonical, of the wrong types, or what serde reads as absent where absent is not canonical.
  refused(JSON.stringify(event).replace(":", ": "));
  refused({ spec, event: "scoring-declared" });
  refused({ event: "scoring-declared", spec: { ...spec, baseline: null } });
  refused({ event: "scoring-declared", spec: { ...spec, horizon_s: 2.5 } });
  refused({ event: "scoring-declared", spec: { ...spec, horizon_s: "2" } });
  refused({ event: "scoring-declared", spec: { ...spec, kind: "votes" } });
  refused({ event: "scoring-declared", spec: { ...spec, outcome_source: "Acme" } });
  refused({ event: "scoring-declared", spec: { ...spec, value: 1 } });
  refused({ event: "scoring-declared" });
  refused({ event: "scoring-declared", extra: 1, spec });
  refused({ event: "scoring-undeclared", spec });
  refused(`{"event":"scoring-declared","spec":${JSON.stringify(spec)},"spec":${JSON.stringify(spec)}}`);
  assert.throws(() => readRegistryEvent(item("\ufeff" + JSON.stringify(event))), RegistryEventError);
  // The other events, as strictly.
  const registered = { event: "source-registered", require_signature: false, schema_policy: "reject", schema_sha256: null };
  assert.deepEqual(readRegistryEvent(item(registered)), registered);
  refused({ ...registered, require_signature: "false" });
  refused({ ...registered, schema_policy: "ignore" });
  refused({ ...registered, schema_sha256: "AAAA" });
  refused({ event: "key-retired", key_id: "k 1" });
  assert.deepEqual(readRegistryEvent(item({ event: "key-retired", key_id: "k1" })), { event: "key-retired", key_id: "k1" });
});

test("scores compare as JSON, number by number", () => {
  const a = { x: 1, y: [0.1, -0], z: { w: null } };
  assert.deepEqual(scoreDifferences(a, structuredClone(a)), []);
  assert.deepEqual(scoreDifferences(a, { ...a, y: [0.1, 0] }), ["$.y[1]"]);
  assert.deepEqual(scoreDifferences(a, { ...a, y: [0.1, 0] }, false), []);
  assert.deepEqual(scoreDifferences(a, { ...a, y: [0.1, 1e-300] }, false), ["$.y[1]"]);
  assert.deepEqual(scoreDifferences(a, { ...a, x: 1 + 2 ** -52 }), ["$.x"]);
  assert.deepEqual(scoreDifferences(a, { x: 1, y: [0.1, -0] }), ["$.z"]);
  assert.deepEqual(scoreDifferences(a, { ...a, y: [0.1] }), ["$.y.length"]);
  assert.deepEqual(scoreDifferences(a, { ...a, z: { w: 0 } }), ["$.z.w"]);
});

test("the chart: cumulative return compounded in sequence order, predictions against outcomes", async () => {
  const s = await score(await verified(WHOLE));
  const c = caseNamed(WHOLE);
  const pts = cumulativeReturns(s);
  assert.deepEqual(pts.map((p) => p.seq), c.expect.returns.map(([seq]) => seq));
  // The last point is the score's own figure, to the bit; each point the product so far, by hand.
  assert.ok(Object.is(pts[pts.length - 1].cumulative, s.signals.cumulative_return));
  close(pts[pts.length - 1].cumulative, c.expect.signals.cumulative_return, "cumulative");
  let product = 1;
  c.expect.returns.forEach(([, r], i) => {
    product *= 1 + r;
    close(pts[i].cumulative, product - 1, `cumulative after seq ${pts[i].seq}`);
  });
  assert.ok(pts.every((p, i) => i === 0 || p.ms >= pts[i - 1].ms));
  assert.equal(pts[0].at, "2025-11-24T16:00:04.000Z");
  assert.equal(pts[0].ms, Date.UTC(2025, 10, 24, 16, 0, 4));

  const m = chartModel(s, 720, 280);
  assert.equal(m.kind, "signals");
  const [line] = m.series;
  assert.equal(line.name, "cumulative");
  // From 0 before the first scored signal, then one point per scored signal.
  assert.equal(line.points.length, s.scored + 1);
  assert.deepEqual(line.seqs, [null, ...pts.map((p) => p.seq)]);
  assert.deepEqual(line.values, [0, ...pts.map((p) => p.cumulative)]);
  assert.equal(line.connect, true);
  assert.deepEqual(m.xTicks.map((t) => t.anchor).filter((a, i, all) => i === 0 || i === all.length - 1), ["start", "end"]);
  assert.equal(line.points[0][1], m.zeroY);
  for (const [x, y] of line.points) {
    assert.ok(x >= m.plot.left && x <= m.plot.right && y >= m.plot.top && y <= m.plot.bottom, `${x},${y}`);
  }
  assert.ok(line.points.every((p, i) => i === 0 || p[0] >= line.points[i - 1][0]));
  assert.equal(line.points[0][0], m.plot.left);
  assert.equal(line.points[line.points.length - 1][0], m.plot.right);
  // Higher is up: the best point is the highest, the worst the lowest.
  const best = line.values.indexOf(Math.max(...line.values));
  assert.equal(Math.min(...line.points.map((p) => p[1])), line.points[best][1]);
  assert.ok(m.yTicks.length >= 2 && m.yTicks.every((t) => t.y >= m.plot.top && t.y <= m.plot.bottom && /%$/.test(t.label)));
  assert.ok(m.xTicks.length >= 2 && m.xTicks.every((t) => /^\d\d:\d\d:\d\d$/.test(t.label)));
  assert.deepEqual(m.errors, []);

  // The later window: two scored signals, compounded to 1.04 × 1.02 − 1.
  const later = await score(await verified(LATER));
  close(cumulativeReturns(later).at(-1).cumulative, 0.0608, "later window");
  assert.equal(chartModel(later).series[0].points.length, 3);

  const p = await score(await verified(PREDICTIONS));
  const pp = predictionPoints(p);
  assert.deepEqual(pp.map((x) => [x.seq, x.predicted, x.outcome, x.outcomeSeq]), [[2, 103, 101, 4], [3, 48, 51, 5], [6, 12, 11.5, 8]]);
  assert.deepEqual(pp.map((x) => x.error), caseNamed(PREDICTIONS).expect.errors.map(([, e]) => e));
  const pm = chartModel(p);
  assert.equal(pm.kind, "predictions");
  assert.deepEqual(pm.series.map((x) => x.name), ["predicted", "outcome"]);
  // Each prediction stands alone: no line joins one to the next.
  assert.ok(pm.series.every((x) => !x.connect));
  assert.deepEqual(pm.series[0].values, [103, 48, 12]);
  assert.deepEqual(pm.series[1].values, [101, 51, 11.5]);
  assert.equal(pm.errors.length, 3);
  pm.errors.forEach((e, i) => {
    assert.equal(e.seq, pp[i].seq);
    assert.equal(e.y1, pm.series[0].points[i][1]);
    assert.equal(e.y2, pm.series[1].points[i][1]);
  });
  // 103 predicted, 101 came true: the prediction is drawn above the outcome.
  assert.ok(pm.errors[0].y1 < pm.errors[0].y2);
  assert.ok(pm.errors[1].y1 > pm.errors[1].y2);
  // Records of distinct times are placed by time; each of these is.
  assert.equal(m.xAxis, "time");
  assert.equal(m.yScale, "linear");
  assert.equal(pm.xAxis, "time");
  assert.equal(pm.yScale, "linear");

  // Records logged together (one time for several) are placed in sequence order instead, one
  // step each, the ticks named by seq: on a time axis they would stand in one column.
  const together = { ...s, scores: s.scores.map((x) => ({ ...x, at: s.scores[0].at })) };
  const tm = chartModel(together, 720, 280);
  assert.equal(tm.xAxis, "sequence");
  const xs = tm.series[0].points.map(([x]) => x);
  const steps = xs.slice(1).map((x, i) => x - xs[i]);
  assert.ok(steps.every((d) => Math.abs(d - steps[0]) < 1e-9 && d > 0), "evenly spaced");
  // Half a step in from each end of the plot.
  assert.ok(Math.abs(xs[0] - tm.plot.left - steps[0] / 2) < 1e-9 && Math.abs(tm.plot.right - xs.at(-1) - steps[0] / 2) < 1e-9);
  assert.deepEqual(tm.series[0].values, line.values);
  assert.equal(tm.xTicks[0].label, `seq ${s.scores[0].seq}`);
  assert.equal(tm.xTicks.at(-1).label, `seq ${s.scores.at(-1).seq}`);
  assert.equal(tm.xTicks.at(-1).x, xs.at(-1));
  assert.ok(tm.xTicks.length >= 2 && tm.xTicks.every((t) => /^seq \d+$/.test(t.label)));
  // Ticks a fraction of a second apart read with milliseconds.
  const quick = { ...s, scores: s.scores.map((x, i) => ({ ...x, at: `2025-11-24T16:00:00.${String(100 * i).padStart(3, "0")}Z` })) };
  const qm = chartModel(quick);
  assert.equal(qm.xAxis, "time");
  assert.ok(qm.xTicks.every((t) => /^\d\d:\d\d:\d\d\.\d{3}$/.test(t.label)), qm.xTicks.map((t) => t.label).join());
  assert.equal(new Set(qm.xTicks.map((t) => t.label)).size, qm.xTicks.length);

  // Predictions of tokens worth 0.1 and 60,000: a logarithmic y, its ticks powers of ten, each
  // point where its value's logarithm puts it.
  const wide = { ...p, scores: p.scores.map((x, i) => ({ ...x, value: [0.12, 68000, 5][i], outcome: [0.125, 67000, 5.2][i] })) };
  const wm = chartModel(wide);
  assert.equal(wm.yScale, "log");
  assert.equal(wm.zeroY, null);
  assert.deepEqual(wm.yTicks.map((t) => t.label), ["0.1", "1", "10", "100", "1000", "10000", "100000"]);
  assert.ok(wm.yTicks.every((t, i) => i === 0 || t.y < wm.yTicks[i - 1].y), "higher is up");
  const [pred] = wm.series;
  const yAt = (v) => {
    const [a, b] = [wm.yTicks[0], wm.yTicks.at(-1)];
    return a.y + ((Math.log10(v) - Math.log10(Number(a.label))) / (Math.log10(Number(b.label)) - Math.log10(Number(a.label)))) * (b.y - a.y);
  };
  pred.values.forEach((v, i) => assert.ok(Math.abs(pred.points[i][1] - yAt(v)) < 1e-6, `${v}`));
  for (const series of wm.series) for (const [, y] of series.points) assert.ok(y >= wm.plot.top && y <= wm.plot.bottom);
  // Not for signals, nor for predictions within 100×, nor for any value at or below 0.
  assert.equal(chartModel({ ...wide, scores: wide.scores.map((x, i) => (i === 0 ? { ...x, value: 0 } : x)) }).yScale, "linear");

  // Nothing scored: no chart.
  const t = await verified(WHOLE);
  assert.equal(chartModel(await score({ ...t, scoring: { ...t.scoring, spec: { ...t.scoring.spec, horizon_s: 1000 } } })), null);
});

test("chart scales and ticks", () => {
  const f = linearScale(10, 20, 0, 100);
  assert.deepEqual([f(10), f(15), f(20)], [0, 50, 100]);
  assert.equal(linearScale(5, 5, 0, 100)(5), 50);
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-0.013, 0.13, 5), [0, 0.05, 0.1]);
  assert.deepEqual(niceTicks(7, 7), [7]);
  assert.deepEqual(niceTicks(-3, 103, 5), [0, 50, 100]);
  assert.deepEqual(niceTicks(-3, 103, 10), [0, 20, 40, 60, 80, 100]);
});
