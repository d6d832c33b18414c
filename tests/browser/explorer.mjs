// The explorer in real headless Chromium (Debian's /usr/bin/chromium via playwright-core): a
// `provlog dev` log with anchoring and demo data, then, as a user would: search a record by id,
// see its provenance and lineage, get its receipt, verify it in the browser and see the proof
// picture; search a snapshot by content root and verify one row; load a tampered receipt file
// and paste another, and see each fail at its check; pin a wrong key and see that fail too. Then
// the source pages: demo.signals opened from one of its records, demo.predictions by searching
// its id, each track record verified and scored in the browser (complete, no gaps, the same
// score as the server's, its commitments and its chart); and a track record tampered with on
// the wire (an outcome's return changed, a record dropped) turning the badge red at its check.
// Screenshots go to tests/browser/artifacts/ (gitignored). Never skips: a missing browser or
// binary is a failure.
//
//   PROVLOG_BIN=target/debug/provlog node tests/browser/explorer.mjs
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "artifacts");
const bin = resolve(process.env.PROVLOG_BIN ?? "");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TX_URL = "https://blocks.example/tx/{tx}";

for (const [what, path] of [["PROVLOG_BIN (the provlog binary)", bin], ["Chromium", browserPath]]) {
  if (!process.env.PROVLOG_BIN || !existsSync(path)) {
    console.error(`explorer browser test: ${what} not found at ${path}`);
    process.exit(1);
  }
}
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });

let passed = 0;
function check(cond, what) {
  assert.ok(cond, what);
  passed++;
  console.log(`  ok ${passed} - ${what}`);
}

// A fresh PostgreSQL database for the log, on the server the other tests use.
const adminUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const dbName = `provlog_explorer_${process.pid}_${Date.now()}`;
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
const psql = (sql) => execFileSync("psql", [adminUrl, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], { stdio: ["ignore", "ignore", "inherit"] });

/** Starts `provlog dev` on free ports and resolves with its API URL once the demo is done. */
function startLog(dataDir) {
  const args = ["dev", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--chain-port", "0", "--database-url", dbUrl, "--explorer-tx-url", TX_URL];
  const child = spawn(bin, args, {
    // Run from the repository so `provlog dev` finds contracts/node_modules (anvil).
    cwd: resolve(here, "../.."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const ready = new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`provlog dev not ready after 240 s:\n${out}`)), 240_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /The log is serving at (http:\/\/[0-9.:]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady(m[1]);
      }
    });
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`provlog dev exited (${code}) before serving:\n${out}`));
    });
  });
  return { child, ready, output: () => out };
}

async function stopLog(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.on("exit", r));
  child.kill("SIGINT"); // stops the server, then the chain, as Ctrl-C does
  const timeout = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timeout);
}

const dataDir = mkdtempSync(join(tmpdir(), "provlog-explorer-dev-"));
const profile = mkdtempSync(join(tmpdir(), "provlog-explorer-chromium-"));
psql(`CREATE DATABASE ${dbName}`);
const log = startLog(dataDir);
let context;
try {
  const api = await log.ready;
  console.log(`provlog dev serving at ${api}`);
  const json = async (path) => {
    const r = await fetch(api + path);
    assert.equal(r.status, 200, path);
    return r.json();
  };
  // Each source's first record is its registration (kind source): ask for the data.
  const signal = (await json("/v1/records?source=demo.signals&kind=signal&limit=1")).records[0];
  const snapshot = (await json("/v1/records?source=demo.grades&kind=snapshot&limit=1")).records[0];
  const derived = (await json("/v1/records?source=demo.strategy&kind=signal&limit=1")).records[0];
  assert.ok(signal && snapshot && derived, "the demo logged its sources");

  context = await chromium.launchPersistentContext(profile, {
    executablePath: browserPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1200, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()} (${m.location().url})`));

  await page.goto(`${api}/explorer/`);
  await page.waitForFunction(() => document.querySelector("#vkey")?.value.includes("+"));
  const vkey = await page.inputValue("#vkey");
  const served = (await json("/v1/log")).verifier_key;
  check(vkey === served, "the verifier key is prefilled from /v1/log");
  check((await page.textContent("#vkey-origin")).includes("trusting the server"), "the page says a prefilled key means trusting the server");

  // Search by id: provenance and lineage.
  await page.fill("#q", derived.id);
  await page.click("#search-form button");
  await page.waitForSelector(`#record-id:text("${derived.id}")`);
  check((await page.textContent("#provenance")).includes("demo.strategy"), "provenance names the source");
  await page.waitForSelector(`#lineage svg g.current[data-id="${derived.id}"]`);
  const lineageNodes = await page.locator("#lineage svg g.lineage-node").count();
  check(lineageNodes >= 3, `the lineage graph draws the record and its parents (${lineageNodes} nodes)`);

  // The signal: signed by its source; receipt verified in the browser, with the proof picture.
  await page.fill("#q", signal.id);
  await page.click("#search-form button");
  await page.waitForSelector(`#record-id:text("${signal.id}")`);
  check((await page.textContent("#provenance")).includes("verified by the server"), "provenance shows the server's signature status");
  check((await page.textContent("#quality")).includes("schema"), "quality results are listed");
  await page.click("#fetch-receipt");
  await page.waitForSelector("#verdict.ok, #verdict.bad");
  const verdict = await page.textContent("#verdict");
  check(verdict.startsWith("Receipt valid"), `the browser verifies the server's receipt: ${verdict}`);
  const checks = await page.locator("#checks li.ok").allTextContents();
  for (const want of ["canonical", "signed by trusted key", "inclusion proof leads", "source signature by key", "anchor names this checkpoint"]) {
    check(checks.some((c) => c.includes(want)), `passed checks include "${want}"`);
  }
  const steps = Number(await page.getAttribute("#proof svg", "data-steps"));
  const boxes = await page.locator("#proof svg g.node").count();
  check(steps > 3 && boxes === 2 * steps + 1, `the proof picture draws leaf, ${steps} siblings and parents up to the root (${boxes} boxes)`);
  check((await page.locator("#proof svg g.root").count()) === 1, "the picture ends at the checkpoint root");
  const receipt = JSON.parse(await page.inputValue("#receipt-json"));
  check((await page.textContent("#checkpoint")) === receipt.checkpoint, "the checkpoint text is shown");
  const href = await page.getAttribute("#tx-link", "href");
  check(href === TX_URL.replace("{tx}", receipt.anchor.tx_hash), `the anchor links to the block explorer (${href})`);
  await page.screenshot({ path: join(artifacts, "1-signal-verified.png"), fullPage: true });

  // The value a consumer received: the demo signal's payload checked against the content root
  // in the browser, and its key shown with the registry record that added it.
  const manifest = JSON.parse(readFileSync(join(dataDir, "demo.json"), "utf8"));
  await page.fill("#q", String(manifest.signal.index));
  await page.click("#search-form button");
  await page.waitForSelector(`#record-id:text("${manifest.signal.index}")`);
  await page.waitForSelector("#key-registry");
  check((await page.getAttribute("#key-registry", "class")) === "pass", "the signing key is the one the registry records added before the record");
  check((await page.textContent("#key-registry")).includes("with proof of possession"), `the key's registry record is named: ${await page.textContent("#key-registry")}`);
  await page.fill("#payload", JSON.stringify(manifest.signal.payload, null, 1));
  await page.click("#check-payload");
  await page.waitForSelector('#payload-result[data-matches]');
  check((await page.getAttribute("#payload-result", "data-matches")) === "true", "the received payload (spelled differently) hashes to the record's content root");
  const changed = { ...manifest.signal.payload, signal: manifest.signal.payload.signal === 1 ? -1 : 1 };
  await page.fill("#payload", JSON.stringify(changed));
  await page.click("#check-payload");
  await page.waitForSelector('#payload-result[data-matches="false"]');
  check((await page.textContent("#payload-result")).startsWith("NOT this record's content"), "a changed value is not the record's content");

  // The sources, as the registry records state them; a registry record's receipt verifies here.
  await page.click("#list-sources");
  await page.waitForSelector('.source[data-source="demo.signals"]');
  const listed = await page.locator(".source").count();
  const registered = (await json("/v1/sources")).length;
  check(listed === registered && listed >= 5, `the sources page lists every source (${listed})`);
  const signals = page.locator('.source[data-source="demo.signals"]');
  check((await signals.textContent()).includes("demo-signals-1"), "demo.signals lists its key");
  const keyAdded = signals.locator("ol.history button.link").nth(1);
  const leaf = await keyAdded.getAttribute("data-leaf");
  await keyAdded.click();
  await page.waitForSelector(`#record-id:text("${leaf}")`);
  check((await page.textContent("#record-summary")).includes("kind" + "source"), `record ${leaf} is a registry record`);
  // The signal's verdict is still shown until this receipt's replaces it.
  const shown = await page.textContent("#verdict");
  await page.click("#fetch-receipt");
  await page.waitForFunction((prev) => !["", prev].includes(document.querySelector("#verdict").textContent), shown);
  const registryVerdict = await page.textContent("#verdict");
  check(
    (await page.getAttribute("#verdict", "class")) === "ok" && registryVerdict.includes(`(record ${leaf}, source from demo.signals)`),
    `a registry record's receipt, with its event, verifies: ${registryVerdict}`,
  );
  await page.screenshot({ path: join(artifacts, "2-sources.png"), fullPage: true });

  // A snapshot found by its content root (hex), one row verified with its own picture.
  const rootHex = Buffer.from(snapshot.content_root, "base64").toString("hex");
  await page.fill("#q", rootHex);
  await page.click("#search-form button");
  await page.waitForSelector(`#record-id:text("${snapshot.id}")`);
  check(true, `search by content root (hex) finds snapshot record ${snapshot.id}`);
  await page.fill("#item", "5");
  await page.click("#fetch-receipt");
  await page.waitForFunction(() => document.querySelector("#checks")?.textContent.includes("row 5"));
  check((await page.getAttribute("#verdict", "class")) === "ok", "the snapshot row's receipt verifies");
  check(await page.isVisible("#item-proof svg"), "the row's path to the content root is drawn");
  await page.screenshot({ path: join(artifacts, "2-snapshot-row-verified.png"), fullPage: true });

  // A tampered receipt file: one hash of the inclusion proof changed.
  const tampered = structuredClone(receipt);
  const h = Buffer.from(tampered.inclusion_proof[1], "base64");
  h[0] ^= 1;
  tampered.inclusion_proof[1] = h.toString("base64");
  const file = join(artifacts, "tampered-receipt.json");
  writeFileSync(file, JSON.stringify(tampered, null, 2));
  await page.setInputFiles("#receipt-file", file);
  await page.waitForSelector('#verdict.bad[data-check="inclusion"]');
  check((await page.textContent("#verdict")).includes("INVALID"), "a tampered receipt file is shown as failing, at the inclusion check");
  const before = await page.locator("#checks li.ok").allTextContents();
  check(before.some((c) => c.includes("signed by trusted key")), "the checks that passed before the failure are listed");
  check((await page.locator("#proof svg").count()) === 0, "no proof picture for a failing receipt");
  await page.screenshot({ path: join(artifacts, "3-tampered-file-fails.png"), fullPage: true });

  // Pasted: the signal's payload root changed in the record (its bytes no longer hash right).
  // A text replacement keeps the record canonical, so only the hash check can catch it.
  const forged = structuredClone(receipt);
  const root = JSON.parse(receipt.record).content.root;
  forged.record = receipt.record.replace(root, Buffer.alloc(32, 7).toString("base64"));
  assert.notEqual(forged.record, receipt.record);
  await page.fill("#receipt-json", JSON.stringify(forged));
  await page.click("#verify-pasted");
  await page.waitForSelector('#verdict.bad[data-check="record_hash"]');
  check(true, "a pasted receipt with a changed record fails at the record hash");

  // The untouched receipt against a key the user pins that is not the log's: refused.
  await page.fill("#vkey", "example.com/provlog/test+a464b719+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs");
  await page.fill("#receipt-json", JSON.stringify(receipt));
  await page.click("#verify-pasted");
  await page.waitForSelector('#verdict.bad[data-check="checkpoint"]');
  check((await page.textContent("#vkey-origin")).includes("Pinned by you"), "an edited key is shown as pinned by the user");
  check(true, "the server's own receipt fails against a different pinned key");
  await page.screenshot({ path: join(artifacts, "4-wrong-key-fails.png"), fullPage: true });

  // ------------------------------------------------------------------------------------------
  // Source pages: the track record verified and scored in this browser.

  /** Waits until the source page of `id` is done (verified or failed); returns its state. */
  const sourceDone = async (id) => {
    await page.waitForSelector(`#source[data-source="${id}"]:is([data-state="verified"], [data-state="failed"])`, { timeout: 60_000 });
    return page.getAttribute("#source", "data-state");
  };
  const badgeData = async () =>
    page.$eval("#source-badge", (b) => ({ ...b.dataset, text: b.textContent, cls: b.className, bg: getComputedStyle(b).backgroundColor }));

  // With the wrong key still pinned, a track record fails at its checkpoint's signature.
  await page.fill("#q", "demo.signals");
  await page.click("#search-form button");
  check((await sourceDone("demo.signals")) === "failed", "searching a source id opens its source page");
  const wrongKey = await badgeData();
  check(wrongKey.valid === "false" && wrongKey.check === "checkpoint_signature", `against a key that is not the log's, the track record fails at checkpoint_signature: ${wrongKey.text}`);

  // The log's key again; demo.signals opened from one of its records, as a user clicks through.
  await page.fill("#vkey", served);
  await page.fill("#q", signal.id);
  await page.click("#search-form button");
  await page.waitForSelector(`#record-id:text("${signal.id}")`);
  await page.click('#record-summary button.link[data-source="demo.signals"]');
  check((await sourceDone("demo.signals")) === "verified", "the record's source link opens the source page of demo.signals, verified");
  check(new URL(page.url()).hash === "#source=demo.signals", `the page's address names the source (${new URL(page.url()).hash})`);

  /**
   * The checks both scored demo sources must pass; returns the server's score. Reading an open
   * window may append a close record (the log grows), so the page's two requests (track record,
   * score) can land on two checkpoints: the page then says "not comparable; verify again", and
   * the user (this test, at most twice) does.
   */
  const sourceChecks = async (id, series) => {
    let match = await page.getAttribute("#source-score-compare", "data-match");
    for (let again = 0; match === "checkpoint" && again < 2; again++) {
      console.log(`  (${id}: the server scored another checkpoint than the bundle's; verifying again)`);
      await page.click("#source-load");
      await sourceDone(id);
      match = await page.getAttribute("#source-score-compare", "data-match");
    }
    // The scored records' seqs, as the server scores them now (they do not move as the log grows).
    const serverScore = await json(`/v1/sources/${id}/score`);
    const b = await badgeData();
    check(b.valid === "true" && b.cls === "ok" && b.gaps === "0", `${id}: the badge says verified with gaps 0 (${b.text})`);
    check(b.text.startsWith("complete:") && b.text.includes("gaps 0"), `${id}: the badge says complete, gaps 0`);
    check(b.bg === "rgb(227, 244, 232)", `${id}: the badge is green (${b.bg})`);
    const count = Number(b.count);
    check(count > 0 && count === Number(b.lastSeq) - Number(b.firstSeq) + 1, `${id}: the badge counts ${count} records, seq ${b.firstSeq}..${b.lastSeq}, none missing`);
    const serverColumn = async (field) => page.textContent(`#source-score tr[data-field="${field}"] td[data-value="server"]`);
    check((await serverColumn("checkpoint_size")) === b.checkpoint, `${id}: verified at the checkpoint the server scored (${b.checkpoint})`);
    const outcomes = await page.textContent("#source-outcomes");
    check(outcomes.includes("records of demo.prices") && outcomes.includes("verified as a track record of their own"), `${id}: the outcomes are demo.prices', verified: ${outcomes}`);
    check(await page.isVisible("#source-scoring"), `${id}: the score is shown`);
    check((await page.textContent("#source-spec")).includes("demo.prices"), `${id}: the spec names the outcome source: ${await page.textContent("#source-spec")}`);
    const compare = await page.$eval("#source-score-compare", (e) => ({ match: e.dataset.match, text: e.textContent, cls: e.className }));
    check(compare.match === "true" && compare.cls === "pass", `${id}: the browser's score equals the server's: ${compare.text}`);
    const scored = Number(await page.getAttribute("#source-score", "data-scored"));
    check(scored > 0 && String(scored) === (await serverColumn("scored")) && scored === serverScore.scored, `${id}: ${scored} records scored, as the server says`);
    const differing = await page.locator("#source-score td.differs").count();
    check(differing === 0, `${id}: no figure of the score table differs`);
    // The chart: one point per scored record in every series.
    await page.waitForSelector("#source-chart-svg");
    const svgKind = await page.getAttribute("#source-chart-svg", "data-kind");
    check(svgKind === serverScore.spec.kind, `${id}: the chart is of ${svgKind}`);
    const ticks = await page.$$eval("#source-chart-svg text.label", (ts) => ts.map((t) => t.textContent));
    check(new Set(ticks).size === ticks.length, `${id}: the chart's axis labels are distinct (${ticks.join(", ")})`);
    const want = serverScore.scores.map((x) => x.seq).sort((a, b) => a - b);
    for (const name of series) {
      const seqs = await page.$$eval(`#source-chart-svg circle.dot[data-series="${name}"]`, (cs) => cs.map((c) => Number(c.dataset.seq)));
      const distinct = [...new Set(seqs)].sort((a, b) => a - b);
      check(seqs.length >= scored && JSON.stringify(distinct) === JSON.stringify(want), `${id}: the chart's ${name} series has a point for each of the ${scored} scored records (${seqs.length})`);
    }
    // Every record of the window is in the timeline, each scored one marked so.
    const rows = await page.locator("#source-timeline tbody tr[data-seq]").count();
    check(rows === count, `${id}: the timeline lists the window's ${rows} records`);
    const scoredRows = await page.locator('#source-timeline tbody tr[data-score="scored"]').count();
    check(scoredRows === scored, `${id}: ${scoredRows} timeline rows are marked scored`);
    return serverScore;
  };

  const signalsScore = await sourceChecks("demo.signals", ["cumulative"]);
  check((await page.locator('#source-chart-svg path[data-series="cumulative"]').count()) === 1, "demo.signals: the chart draws the cumulative return as one path");
  const pathD = await page.getAttribute('#source-chart-svg path[data-series="cumulative"]', "d");
  check(pathD.split("L").length === signalsScore.scored + 1, `the cumulative path starts at 0 and steps through every scored signal (${pathD.split("L").length} points)`);
  // The commitments: two revealed, one expired unrevealed, highlighted.
  const commitmentRows = await page.$$eval("#source-commitments tbody tr[data-seq]", (rs) =>
    rs.map((r) => ({ seq: r.dataset.seq, status: r.dataset.status, cls: r.className, bg: getComputedStyle(r.querySelector("td")).backgroundColor, text: r.textContent })),
  );
  const revealed = commitmentRows.filter((r) => r.status === "revealed");
  const expired = commitmentRows.filter((r) => r.status === "expired_unrevealed");
  check(commitmentRows.length === 3 && revealed.length === 2 && expired.length === 1, `demo.signals has 3 commitments: 2 revealed, 1 expired unrevealed (${commitmentRows.map((r) => r.status).join(", ")})`);
  check(expired[0].cls.includes("expired") && expired[0].bg === "rgb(251, 230, 228)", `the expired commitment is highlighted (${expired[0].bg}): ${expired[0].text}`);
  check(expired[0].text.includes("EXPIRED UNREVEALED"), "the expired commitment says it counts as a loss");
  check(revealed.every((r) => r.text.includes("revealed by seq")), "each revealed commitment names its reveal");
  const expiredRow = page.locator(`#source-timeline tbody tr[data-seq="${expired[0].seq}"]`);
  check((await expiredRow.getAttribute("class")) === "expired" && (await expiredRow.getAttribute("data-kind")) === "commitment", "the expired commitment's timeline row is highlighted too");
  check(signalsScore.expired_unrevealed === 1, "the server's score counts the expired commitment against the source");
  // A revealed commitment's link scrolls the timeline to its reveal.
  await page.click(`#source-commitments tbody tr[data-seq="${revealed[0].seq}"] td:last-child button.link[data-seq]`);
  check((await page.locator("#source-timeline tr.flash").getAttribute("data-kind")) === "reveal", "a commitment's reveal link marks the reveal in the timeline");
  await page.locator("#source").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(artifacts, "source-signals.png"), fullPage: true });

  // demo.predictions: found by searching its id; predicted and outcome series.
  await page.fill("#q", "demo.predictions");
  await page.click("#search-form button");
  check((await sourceDone("demo.predictions")) === "verified", "searching demo.predictions opens its source page, verified");
  const predictionsScore = await sourceChecks("demo.predictions", ["predicted", "outcome"]);
  check(predictionsScore.records === 12 && predictionsScore.predictions, `demo.predictions: 12 predictions scored as predictions (${predictionsScore.scored} with an outcome)`);
  check((await page.locator("#source-chart-svg line.error-bar").count()) === predictionsScore.scored, "each prediction's error is drawn between its predicted value and its outcome");
  // Tokens worth 0.12 and 68,000 $, all predicted at once: one step per prediction, on a log scale.
  const axes = await page.$eval("#source-chart-svg", (e) => [e.dataset.xAxis, e.dataset.yScale]);
  check(axes[0] === "sequence" && axes[1] === "log", `the predictions' chart is drawn prediction by prediction on a logarithmic scale (${axes.join(", ")})`);
  check((await page.textContent("#source-commitments")).includes("no commitments in this window"), "demo.predictions has no commitments");
  await page.screenshot({ path: join(artifacts, "source-predictions.png"), fullPage: true });

  // Tampered on the wire: the server's track record changed before the page reads it.
  const tamper = async (id, edit) => {
    const pattern = `**/v1/sources/${id}/track-record*`;
    const handler = async (route) => {
      const response = await route.fetch();
      const bundle = await response.json();
      edit(bundle);
      await route.fulfill({ response, body: JSON.stringify(bundle) });
    };
    await page.route(pattern, handler);
    // A fresh load of the page at the source's address.
    await page.goto("about:blank");
    await page.goto(`${api}/explorer/#source=${id}`);
    const state = await sourceDone(id);
    await page.unroute(pattern, handler);
    return state;
  };
  // One outcome's return changed (its item no longer hashes to the record's content root).
  let changedReturn;
  const flipReturn = (bundle) => {
    const o = bundle.outcomes.records.find((e) => e.item && "return" in JSON.parse(Buffer.from(e.item, "base64").toString()));
    const item = JSON.parse(Buffer.from(o.item, "base64").toString());
    changedReturn = [item.return, -item.return + 0.5];
    item.return = changedReturn[1];
    o.item = Buffer.from(JSON.stringify(item)).toString("base64");
  };
  check((await tamper("demo.signals", flipReturn)) === "failed", `a track record with one outcome's return changed (${changedReturn.join(" → ")}) is refused`);
  const tampered1 = await badgeData();
  check(tampered1.valid === "false" && tampered1.cls === "bad" && tampered1.check === "item", `the badge names the item check: ${tampered1.text}`);
  check(tampered1.text.includes("NOT verified: the item check failed") && tampered1.text.includes("the outcomes' bundle"), "the badge says the outcomes' bundle failed");
  check(tampered1.bg === "rgb(251, 230, 228)", `the badge is red (${tampered1.bg})`);
  check(!(await page.isVisible("#source-scoring")) && (await page.locator("#source-timeline tbody tr").count()) === 0, "nothing of the tampered bundle is shown");
  await page.screenshot({ path: join(artifacts, "source-tampered.png"), fullPage: true });
  // One record dropped from the window: the chain has a gap.
  check((await tamper("demo.signals", (b) => b.records.splice(3, 1))) === "failed", "a track record with one record dropped is refused");
  const tampered2 = await badgeData();
  check(tampered2.check === "seq_gap" && tampered2.text.includes("seq_gap"), `the badge names the seq_gap check: ${tampered2.text}`);
  // Untouched again: the same page verifies.
  await page.goto("about:blank");
  await page.goto(`${api}/explorer/#source=demo.signals`);
  check((await sourceDone("demo.signals")) === "verified" && (await badgeData()).valid === "true", "the untampered track record, opened from the address, verifies again");

  check(problems.length === 0, `no script errors or CSP violations (${problems.join("; ") || "none"})`);
  console.log(`explorer browser test: ${passed} passed, 0 failed; screenshots in ${artifacts}`);
} catch (e) {
  console.error(`explorer browser test FAILED: ${e.stack ?? e}`);
  console.error(`provlog dev output:\n${log.output()}`);
  process.exitCode = 1;
} finally {
  await context?.close();
  await stopLog(log.child);
  rmSync(profile, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
