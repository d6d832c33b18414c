// The /explorer page: finds a record, shows its provenance and lineage, and verifies its receipt
// in this browser with ./verify.js against a verifier key the user pins; shows a source's track
// record, verified here with ./trackrecord.js and scored here with ./score.js. The server's own
// word (its /v1 answers, its prefilled key, its score) is displayed, never relied on for the
// verdict.
// DOM is built with textContent and createElement only (the page's CSP allows no inline code).
import { toHex, parseVerifierKey, SOURCE, UnsupportedError, validTime, verifyReceipt, VerifyError } from "./verify.js";
import { fromBase64, leafHash, toBase64 } from "./bytes.js";
import { canonicalize, duplicateKey, strictOffence } from "./jcs.js";
import { EvidenceError, readRegistryEvent, verifySourceEvidence } from "./evidence.js";
import { readCommitment, TrackRecordError, verifyTrackRecord } from "./trackrecord.js";
import { chartModel, ScoreError, scoreDetail, scoreDifferences } from "./score.js";
const $ = (id) => {
    const el = document.getElementById(id);
    if (!el)
        throw new Error(`page has no #${id}`);
    return el;
};
function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined)
        e.textContent = text;
    if (cls)
        e.className = cls;
    return e;
}
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs))
        e.setAttribute(k, String(v));
    if (text !== undefined)
        e.textContent = text;
    return e;
}
let readKey = null;
let config = { explorer_tx_url: null, public_reads: true };
class NeedsKey extends Error {
}
async function api(path) {
    const headers = {};
    if (readKey)
        headers.authorization = `Bearer ${readKey}`;
    const resp = await fetch(path, { headers });
    if (resp.status === 401 || resp.status === 403) {
        $("auth").hidden = false;
        throw new NeedsKey("this log's reads need an API key: paste one above");
    }
    return resp;
}
async function apiJson(path) {
    const resp = await api(path);
    if (!resp.ok) {
        let detail = resp.statusText;
        try {
            const problem = (await resp.json());
            detail = problem.detail ?? problem.title ?? detail;
        }
        catch {
            // not problem+json: keep the status text
        }
        throw new Error(`${resp.status}: ${detail}`);
    }
    return (await resp.json());
}
function kv(table, rows) {
    table.replaceChildren(...rows.map(([k, v]) => {
        const tr = el("tr");
        tr.append(el("th", k));
        const td = el("td");
        td.append(v);
        tr.append(td);
        return tr;
    }));
}
// ---------------------------------------------------------------------------------------------
// The log and the key
async function loadLog() {
    try {
        config = await (await fetch("/explorer/config.json")).json();
    }
    catch {
        // Defaults: no block-explorer links.
    }
    try {
        const log = await apiJson("/v1/log");
        $("log-line").textContent = `log ${log.origin} · ${log.size} records · latest checkpoint at size ${log.checkpoint_size}`;
        const vkey = $("vkey");
        if (!vkey.value)
            vkey.value = log.verifier_key;
        $("auth").hidden = true;
    }
    catch (e) {
        $("log-line").textContent = e.message;
    }
}
async function search(q) {
    const status = $("search-status");
    const matches = $("matches");
    matches.replaceChildren();
    status.textContent = "searching…";
    try {
        if (/^[0-9]+$/.test(q)) {
            await openRecord(q);
            status.textContent = "";
            return;
        }
        // A source id, unless it could be a hash (64 hex digits are also a valid source id).
        const hashLike = /^[0-9a-fA-F]{64}$/.test(q) || fromBase64(q)?.length === 32;
        if (SOURCE(q) && !hashLike) {
            status.textContent = "";
            await openSource(q);
            return;
        }
        let found = [];
        for (const field of ["content_root", "leaf_hash"]) {
            const page = await apiJson(`/v1/records?${field}=${encodeURIComponent(q)}&limit=50`);
            if (page.records.length > 0) {
                found = page.records;
                break;
            }
        }
        if (found.length === 0) {
            if (SOURCE(q)) {
                status.textContent = "";
                await openSource(q);
                return;
            }
            status.textContent = "no record has that id, content root or leaf hash";
            return;
        }
        status.textContent = found.length === 1 ? "" : `${found.length} records have this content root:`;
        if (found.length === 1) {
            await openRecord(found[0].id);
            return;
        }
        for (const r of found) {
            const li = el("li");
            const b = el("button", `record ${r.id}`);
            b.type = "button";
            b.addEventListener("click", () => openRecord(r.id).catch((e) => (status.textContent = e.message)));
            li.append(b, ` ${r.kind} from ${r.source}, ${r.received_at}`);
            matches.append(li);
        }
    }
    catch (e) {
        status.textContent = e.message;
    }
}
let current = null;
async function openRecord(id) {
    const r = await apiJson(`/v1/records/${encodeURIComponent(id)}`);
    current = r;
    setHash(`q=${r.id}`);
    $("source").hidden = true;
    $("record").hidden = false;
    // The key's evidence is checked first, so the record's id (which tests and users take as
    // "the page shows this record") appears with its whole provenance.
    const registry = await registryRow(r);
    $("record-id").textContent = r.id;
    kv($("record-summary"), [
        ["kind", r.kind],
        ["source", sourceLink(r.source)],
        ["received", r.received_at],
        ["leaf hash", el("span", r.leaf_hash, "mono")],
        ["content root", el("span", `${r.content_root} (${r.record.content.items} item(s), ${r.record.content.media_type})`, "mono")],
        ["metadata", el("span", JSON.stringify(r.record.metadata), "mono")],
        ["in a checkpoint", r.in_checkpoint ? "yes" : "not yet: its receipt follows the next checkpoint"],
    ]);
    const p = r.provenance;
    const sigText = { verified: "verified by the server", invalid: "INVALID", unsigned: "unsigned" }[p.signature] ?? p.signature;
    kv($("provenance"), [
        ["source", p.source],
        ["signature", el("span", sigText, p.signature === "invalid" ? "fail" : p.signature === "verified" ? "pass" : "")],
        ["signing key", p.key_id ?? "—"],
        ["key status", p.key_status ? `${p.key_status} in the source's registry now` : "—"],
        ["key evidence", registry],
    ]);
    $("payload-block").hidden = r.kind !== "signal";
    $("payload-result").textContent = "";
    const tbody = $("quality").querySelector("tbody");
    const rows = p.quality.map((q) => {
        const tr = el("tr");
        tr.append(el("td", q.check), el("td", q.passed ? "passed" : "failed", q.passed ? "pass" : "fail"), el("td", q.detail ?? ""));
        return tr;
    });
    if (rows.length === 0) {
        const tr = el("tr");
        tr.append(el("td", "no checks ran"));
        rows.push(tr);
    }
    tbody.replaceChildren(...rows);
    $("item-label").hidden = r.kind !== "snapshot";
    const item = $("item");
    item.max = String(Math.max(0, r.record.content.items - 1));
    const lineage = await apiJson(`/v1/records/${r.id}/lineage?depth=4`);
    drawLineage(r.id, lineage.ancestors, lineage.descendants);
}
/** A button that opens record `leaf`. */
function recordLink(leaf, text = `record ${leaf}`) {
    const b = el("button", text, "link");
    b.type = "button";
    b.dataset.leaf = String(leaf);
    b.addEventListener("click", () => void openRecord(String(leaf)).catch((e) => ($("search-status").textContent = e.message)));
    return b;
}
/**
 * Whether the record's signing key was its source's, proven in this browser: the record's
 * evidence (GET /v1/records/{id}/evidence) is verified against the pinned key as
 * provlog_core::evidence::verify_source_evidence does.
 */
async function registryRow(r) {
    const sig = r.record.signature;
    if (!sig)
        return "unsigned: no key to establish";
    const span = el("span");
    span.id = "key-registry";
    const fail = (text) => {
        span.className = "fail";
        span.textContent = text;
        return span;
    };
    const resp = await api(`/v1/records/${encodeURIComponent(r.id)}/evidence`);
    if (resp.status === 409)
        return "not in a signed checkpoint yet: the evidence follows it";
    if (!resp.ok)
        return fail(`the server sent no evidence (${resp.status})`);
    const answer = (await resp.json());
    let keys;
    try {
        keys = [await parseVerifierKey($("vkey").value)];
    }
    catch (e) {
        return fail(`verifier key: ${e.message}`);
    }
    let verified;
    try {
        verified = await verifyReceipt(JSON.stringify(answer.receipt), keys);
    }
    catch (e) {
        return fail(`the evidence's receipt does not verify: ${e.message}`);
    }
    try {
        const key = await verifySourceEvidence(verified, answer.source_evidence, keys);
        span.className = "pass";
        const added = Number(key.added.leafIndex);
        span.append(`proven in this browser: key ${key.keyId} is ${r.source}'s, registered by `, recordLink(added), ` (${key.added.at}${key.proven ? ", with proof of possession" : ", backfilled"})`);
        if (key.retired)
            span.append(", retired after this record by ", recordLink(Number(key.retired.leafIndex)));
        return span;
    }
    catch (e) {
        const check = e instanceof EvidenceError ? e.check : "error";
        span.dataset.check = check;
        return fail(`NOT proven the source's key: ${e.message}`);
    }
}
/** Checks a pasted payload against the record's content root: SHA-256(0x00 ‖ JCS(payload)). */
async function checkPayload() {
    const out = $("payload-result");
    if (!current)
        return;
    const text = $("payload").value;
    let value;
    try {
        value = JSON.parse(text);
    }
    catch (e) {
        out.className = "fail";
        out.textContent = `not JSON: ${e.message}`;
        return;
    }
    const offence = duplicateKey(text) ?? strictOffence(value);
    if (offence) {
        out.className = "fail";
        out.textContent = `not a payload the log accepts: ${offence}`;
        return;
    }
    const root = toBase64(await leafHash(new TextEncoder().encode(canonicalize(value))));
    const matches = fromBase64(current.content_root) !== null && root === current.content_root;
    out.className = matches ? "pass" : "fail";
    out.dataset.matches = String(matches);
    out.textContent = matches
        ? `This payload is the record's content: its leaf hash ${root} is the content root. The receipt below proves the record is in the log.`
        : `NOT this record's content: the payload hashes to ${root}, the record's content root is ${current.content_root}.`;
}
async function listSources() {
    const status = $("sources-status");
    const list = $("source-list");
    status.textContent = "loading…";
    try {
        const sources = await apiJson("/v1/sources");
        status.textContent = sources.length === 0 ? "no source is registered yet" : "";
        list.replaceChildren(...sources.map((s) => {
            const div = el("div", undefined, "source");
            div.dataset.source = s.id;
            div.append(el("h3", s.id));
            const open = el("p");
            open.append(sourceLink(s.id, "track record and score, verified in this browser"));
            div.append(open);
            const settings = el("table", undefined, "kv");
            kv(settings, [
                ["registered", recordLink(s.registered.leaf_index, `record ${s.registered.leaf_index} (${s.registered.at})`)],
                ["schema", s.schema_sha256 ? el("span", `SHA-256 ${s.schema_sha256}, policy ${s.schema_policy}`, "mono") : "none"],
                ["signatures", s.require_signature ? "required" : "optional"],
                ["settings stated by", recordLink(s.settings_stated.leaf_index)],
            ]);
            const keys = el("table", undefined, "keys");
            const head = el("tr");
            head.append(el("th", "key"), el("th", "public key"), el("th", "added"), el("th", "retired"));
            keys.append(head);
            for (const k of s.keys) {
                const tr = el("tr");
                const added = el("td");
                added.append(recordLink(k.added.leaf_index), ` ${k.added.at}${k.proven ? "" : " (backfilled)"}`);
                const retired = el("td");
                if (k.retired)
                    retired.append(recordLink(k.retired.leaf_index), ` ${k.retired.at}`);
                else
                    retired.textContent = "active";
                tr.append(el("td", k.key_id), el("td", k.public_key, "mono"), added, retired);
                keys.append(tr);
            }
            const history = el("ol", undefined, "history");
            for (const rec of s.records) {
                const li = el("li");
                li.append(recordLink(rec.leaf_index), ` ${rec.event.event}${rec.event.key_id ? ` ${rec.event.key_id}` : ""} · ${rec.received_at}`);
                history.append(li);
            }
            div.append(settings, el("h4", "Keys"), keys, el("h4", "Registry records"), history);
            return div;
        }));
    }
    catch (e) {
        status.textContent = e.message;
    }
}
// ---------------------------------------------------------------------------------------------
// A source's track record: verified and scored in this browser
/** A button that opens the source page of `id`. */
function sourceLink(id, text = id) {
    const b = el("button", text, "link");
    b.type = "button";
    b.dataset.source = id;
    b.addEventListener("click", () => void openSource(id).catch((e) => ($("source-status").textContent = e.message)));
    return b;
}
/**
 * A time as the log writes it (YYYY-MM-DDTHH:MM:SS.sssZ, UTC), from a date or a shorter UTC time
 * typed by hand; anything else is passed on as typed, for the server to refuse.
 */
function normalizeTime(text) {
    const t = text.trim();
    const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?Z?$/.exec(t);
    if (!m)
        return t;
    const iso = `${m[1]}T${m[2] ?? "00:00"}:${m[3] ?? "00"}.${(m[4] ?? "").padEnd(3, "0")}Z`;
    return validTime(iso) ? iso : t;
}
/** The window's query (since, until) as the track-record and score endpoints take it. */
function windowQuery(since, until) {
    const q = new URLSearchParams();
    if (since)
        q.set("since", since);
    if (until)
        q.set("until", until);
    const text = q.toString();
    return text ? `?${text}` : "";
}
/** A response's problem+json detail, or its status. */
async function problem(resp) {
    try {
        const p = (await resp.json());
        return `${resp.status}: ${p.detail ?? p.title ?? resp.statusText}`;
    }
    catch {
        return `${resp.status} ${resp.statusText}`;
    }
}
const utf8 = (b) => new TextDecoder().decode(b);
const clip = (t, n = 160) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);
const pct = (x) => (typeof x === "number" ? `${Number((x * 100).toPrecision(8))}%` : "—");
const num = (x) => (typeof x === "number" ? String(Number(x.toPrecision(12))) : "—");
function describeSpec(spec, outcomeSource) {
    const what = spec.kind === "signals" ? `signals (−1, 0 or 1) at ${spec.value || "the whole payload"}` : `predictions at ${spec.value || "the whole payload"}`;
    const base = spec.baseline !== undefined ? `, direction from ${spec.baseline}` : "";
    return `Scored as ${what}${base}, against the number at ${spec.outcome || "the whole payload"} of ${outcomeSource}'s outcome records, the first from ${spec.horizon_s} s after each record on.`;
}
/** A record's payload, in a few words, from its item when the bundle carries it. */
function payloadSummary(e, leafSeq) {
    const r = e.record;
    if (!e.item)
        return r.kind === "snapshot" || r.kind === "digest" ? `${r.content.items} item(s), ${r.content.media_type}` : "(payload not in the bundle)";
    try {
        switch (r.kind) {
            case "source": {
                const ev = readRegistryEvent(e.item);
                if (ev.event === "scoring-declared")
                    return `scoring-declared ${canonicalize(ev.spec)}`;
                return "key_id" in ev ? `${ev.event} ${ev.key_id}` : ev.event;
            }
            case "commitment": {
                const c = readCommitment(e.item);
                return `commits to a hidden payload; reveal ${c.reveal_after ? `from ${c.reveal_after} ` : ""}before ${c.reveal_by}`;
            }
            case "reveal": {
                const of = leafSeq.get(r.parents[0]);
                return `reveals ${of === undefined ? "a commitment" : `seq ${of}`}: ${clip(utf8(e.item))}`;
            }
            case "outcome": {
                const of = leafSeq.get(r.parents[0]);
                return `outcome of ${of === undefined ? r.parents[0] : `seq ${of}`}: ${clip(utf8(e.item))}`;
            }
            case "close":
                return "close: the log's mark at the end of the source's records so far";
            default:
                return clip(utf8(e.item));
        }
    }
    catch {
        return clip(utf8(e.item));
    }
}
const SCORE_WORDS = {
    scored: "scored",
    unresolved: "no outcome yet",
    pending: "pending",
    expired_unrevealed: "expired unrevealed: a loss",
    unscorable: "unscorable",
    before_declaration: "before the spec",
};
/** Scrolls to (and marks) the timeline row of `seq`. */
function showSeq(seq) {
    const row = document.querySelector(`#source-timeline tr[data-seq="${seq}"]`);
    if (!row)
        return;
    for (const r of document.querySelectorAll("#source-timeline tr.flash"))
        r.classList.remove("flash");
    row.classList.add("flash");
    row.scrollIntoView({ block: "center" });
}
function seqButton(seq, text = `seq ${seq}`) {
    const b = el("button", text, "link");
    b.type = "button";
    b.dataset.seq = String(seq);
    b.addEventListener("click", () => showSeq(seq));
    return b;
}
function drawTimeline(t, scored, commitments) {
    const leafSeq = new Map(t.records.map((e) => [toBase64(e.leafHash), e.seq]));
    const rows = t.records.map((e) => {
        const tr = el("tr");
        tr.dataset.seq = String(e.seq);
        tr.dataset.kind = e.record.kind;
        tr.dataset.leaf = String(e.leafIndex);
        const status = scored?.get(e.seq);
        if (status)
            tr.dataset.score = status;
        const c = commitments.get(e.seq);
        if (c)
            tr.dataset.status = c.status;
        if (c?.status === "expired_unrevealed")
            tr.classList.add("expired");
        const payload = el("td", payloadSummary(e, leafSeq), "payload");
        const signer = e.key ? `key ${e.key.keyId}` : "unsigned";
        tr.append(el("td", String(e.seq)), el("td", e.record.received_at, "time"), el("td", e.record.kind), payload, el("td", signer, "signer"), el("td", status ? SCORE_WORDS[status] : ""));
        const link = el("td");
        link.className = "link";
        link.append(recordLink(Number(e.leafIndex)));
        tr.append(link);
        return tr;
    });
    if (rows.length === 0) {
        const tr = el("tr");
        const td = el("td", "no records in this window", "muted");
        td.colSpan = 7;
        tr.append(td);
        rows.push(tr);
    }
    $("source-timeline").querySelector("tbody").replaceChildren(...rows);
}
function drawCommitments(t) {
    const rows = t.commitments.map((c) => {
        const tr = el("tr", undefined, c.status === "expired_unrevealed" ? "expired" : c.status);
        tr.dataset.seq = String(c.seq);
        tr.dataset.status = c.status;
        const seq = el("td");
        seq.append(seqButton(c.seq, String(c.seq)));
        const status = el("td");
        if (c.status === "revealed" && c.reveal) {
            tr.dataset.revealSeq = String(c.reveal.seq);
            status.append("revealed by ", seqButton(c.reveal.seq), ` at ${c.reveal.at}`);
        }
        else if (c.status === "expired_unrevealed") {
            status.textContent = `EXPIRED UNREVEALED: reveal_by passed with no reveal up to ${t.completeUntil}; count it as a loss`;
        }
        else {
            status.textContent = "pending: not revealed yet, its reveal_by is still ahead";
        }
        tr.append(seq, el("td", c.commitment.reveal_by, "time"), status);
        return tr;
    });
    if (rows.length === 0) {
        const tr = el("tr");
        const td = el("td", "no commitments in this window", "muted");
        td.colSpan = 3;
        tr.append(td);
        rows.push(tr);
    }
    $("source-commitments").querySelector("tbody").replaceChildren(...rows);
}
/** The score's figures: [field, label, how it is shown]. */
function scoreRows(s) {
    const rows = [
        ["records", "records scored by the spec", (x) => String(x.records)],
        ["scored", "with an outcome, counted", (x) => String(x.scored)],
        ["unresolved", "no outcome yet", (x) => String(x.unresolved)],
        ["pending", "commitments pending", (x) => String(x.pending)],
        ["expired_unrevealed", "commitments expired unrevealed (losses)", (x) => String(x.expired_unrevealed)],
        ["unscorable", "unscorable", (x) => String(x.unscorable)],
        ["before_declaration", "before the spec was declared", (x) => String(x.before_declaration)],
    ];
    if (s.signals) {
        rows.push(["signals.hits", "hits", (x) => String(x.signals?.hits ?? "—")], ["signals.misses", "misses", (x) => String(x.signals?.misses ?? "—")], ["signals.flat", "flat", (x) => String(x.signals?.flat ?? "—")], ["signals.hit_rate", "hit rate", (x) => pct(x.signals?.hit_rate)], ["signals.cumulative_return", "cumulative return", (x) => pct(x.signals?.cumulative_return)], ["signals.mean_return", "mean return per position", (x) => pct(x.signals?.mean_return)]);
    }
    if (s.predictions) {
        rows.push(["predictions.mae", "mean absolute error", (x) => num(x.predictions?.mae)], ["predictions.rmse", "root mean square error", (x) => num(x.predictions?.rmse)], ["predictions.directional_accuracy", "direction right", (x) => pct(x.predictions?.directional_accuracy)]);
    }
    rows.push(["checkpoint_size", "at checkpoint (tree size)", (x) => String(x.checkpoint_size)]);
    return rows;
}
function drawScore(s, server) {
    // As numbers: the server writes a flat signal's return as -0.0, which a proxy may rewrite as 0.
    const diffs = server.score ? scoreDifferences(s, server.score, false) : [];
    const body = $("source-score").querySelector("tbody");
    body.replaceChildren(...scoreRows(s).map(([field, label, show]) => {
        const tr = el("tr");
        tr.dataset.field = field;
        const mine = el("td", show(s));
        mine.dataset.value = "browser";
        const theirs = el("td", server.score ? show(server.score) : "—");
        theirs.dataset.value = "server";
        if (diffs.some((d) => d === `$.${field}` || d.startsWith(`$.${field}.`) || d.startsWith(`$.${field}[`)))
            theirs.classList.add("differs");
        tr.append(el("th", label), mine, theirs);
        return tr;
    }));
    const table = $("source-score");
    table.dataset.scored = String(s.scored);
    table.dataset.records = String(s.records);
    const compare = $("source-score-compare");
    if (!server.score) {
        compare.className = "warn";
        compare.dataset.match = "none";
        compare.textContent = `The server sent no score to compare (${server.error ?? "no answer"}); the figures above are this browser's own.`;
    }
    else if (diffs.length === 0) {
        compare.className = "pass";
        compare.dataset.match = "true";
        compare.textContent = "The server's own score (GET /v1/sources/{id}/score) is the same, number for number.";
    }
    else if (server.score.checkpoint_size !== s.checkpoint_size || server.score.checkpoint_root !== s.checkpoint_root) {
        compare.className = "warn";
        compare.dataset.match = "checkpoint";
        compare.textContent = `The server scored checkpoint ${server.score.checkpoint_size}, the bundle verified here is at ${s.checkpoint_size}: not comparable; verify again.`;
    }
    else {
        compare.className = "fail";
        compare.dataset.match = "false";
        compare.textContent = `The server's score DIFFERS from the one computed in this browser from the verified bundle, at ${diffs.slice(0, 8).join(", ")}${diffs.length > 8 ? ` and ${diffs.length - 8} more` : ""}: do not trust the server's figures.`;
    }
}
/** The chart model as SVG, hand-drawn. */
function drawChart(m, s) {
    const target = $("source-chart");
    target.dataset.kind = s.spec.kind;
    target.dataset.points = String(s.scored);
    if (!m) {
        $("source-chart-title").textContent = "";
        target.replaceChildren(el("p", "No chart: no record has an outcome that counts yet.", "muted"));
        return;
    }
    const title = m.kind === "signals"
        ? m.xAxis === "time"
            ? "Cumulative return over time (compounded in sequence order)"
            : "Cumulative return, signal by signal in sequence order"
        : m.xAxis === "time"
            ? "Predicted values and outcomes over time"
            : "Predicted values and outcomes, prediction by prediction in sequence order";
    $("source-chart-title").textContent = title + (m.yScale === "log" ? " (logarithmic scale)" : "");
    const root = svg("svg", {
        id: "source-chart-svg",
        viewBox: `0 0 ${m.width} ${m.height}`,
        width: m.width,
        height: m.height,
        role: "img",
        "aria-label": m.kind === "signals" ? "cumulative return of the scored signals" : "predictions against outcomes",
        "data-kind": m.kind,
        "data-points": s.scored,
        "data-x-axis": m.xAxis,
        "data-y-scale": m.yScale,
    });
    const { left, top, right, bottom } = m.plot;
    for (const t of m.yTicks) {
        root.append(svg("line", { class: "grid", x1: left, y1: t.y, x2: right, y2: t.y }));
        root.append(svg("text", { class: "label", x: left - 6, y: t.y + 4, "text-anchor": "end" }, t.label));
    }
    for (const t of m.xTicks)
        root.append(svg("text", { class: "label", x: t.x, y: bottom + 18, "text-anchor": t.anchor }, t.label));
    root.append(svg("path", { class: "axis", d: `M${left},${top} L${left},${bottom} L${right},${bottom}` }));
    if (m.zeroY !== null)
        root.append(svg("line", { class: "zero", x1: left, y1: m.zeroY, x2: right, y2: m.zeroY }));
    for (const e of m.errors)
        root.append(svg("line", { class: "error-bar", x1: e.x, y1: e.y1, x2: e.x, y2: e.y2, "data-seq": e.seq }));
    const fmt = m.kind === "signals" ? pct : num;
    // Smaller dots where there are many: the line between them stays visible.
    const r = m.series[0].points.length > 60 ? 2 : 3.5;
    // The last series first: a prediction's ring is drawn over its outcome's dot.
    for (const series of [...m.series].reverse()) {
        if (series.connect) {
            const d = series.points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${x.toFixed(2)},${y.toFixed(2)}`).join(" ");
            root.append(svg("path", { class: `series ${series.name}`, d, "data-series": series.name }));
        }
        series.points.forEach(([x, y], i) => {
            const seq = series.seqs[i];
            if (seq === null)
                return;
            const scored = s.scores.find((x) => x.seq === seq);
            const dot = svg("circle", { class: `dot ${series.name}`, cx: x.toFixed(2), cy: y.toFixed(2), r, "data-seq": seq, "data-series": series.name });
            const text = m.kind === "signals"
                ? `seq ${seq} at ${scored.at}: position ${scored.value}, return ${pct(scored.return)}, cumulative ${fmt(series.values[i])} (outcome seq ${scored.outcome_seq} at ${scored.outcome_at})`
                : `seq ${seq} at ${scored.at}: ${series.name} ${fmt(series.values[i])} (predicted ${num(scored.value)}, outcome ${num(scored.outcome)} by seq ${scored.outcome_seq} at ${scored.outcome_at})`;
            dot.append(svg("title", {}, text));
            root.append(dot);
        });
    }
    if (m.kind === "predictions") {
        root.append(svg("text", { class: "legend predicted", x: right - 190, y: top - 12 }, "○ predicted"));
        root.append(svg("text", { class: "legend outcome", x: right - 90, y: top - 12 }, "● outcome"));
    }
    target.replaceChildren(root);
}
/** An element's text, class and data attributes cleared: nothing of an earlier answer remains. */
function reset(e) {
    e.className = "";
    e.textContent = "";
    for (const k of Object.keys(e.dataset))
        delete e.dataset[k];
}
/** Clears the source page's results, leaving the badge to say why. */
function clearSource() {
    for (const id of ["source-timeline", "source-commitments", "source-score"])
        $(id).querySelector("tbody").replaceChildren();
    $("source-scoring").hidden = true;
    $("source-outcomes").textContent = "";
    reset($("source-score-compare"));
    $("source-chart-title").textContent = "";
    $("source-chart").replaceChildren();
    $("source-details").hidden = true;
}
/**
 * The source page's state, on #source: `loading`, then `verified` once everything is drawn, or
 * `failed` (the badge says why). Scripts and tests wait on it.
 */
function sourceState(state) {
    $("source").dataset.state = state;
}
function badge(ok, text, data) {
    const b = $("source-badge");
    reset(b);
    b.className = ok ? "ok" : "bad";
    b.textContent = text;
    Object.assign(b.dataset, { valid: String(ok), ...data });
    if (!ok)
        sourceState("failed");
}
let sourceToken = 0;
/**
 * Opens the source page: fetches the track record of `id` over [since, until) and the server's
 * score of it, verifies the bundle here against the pinned key, scores it here, and shows both.
 */
async function openSource(id, since = "", until = "") {
    const token = ++sourceToken;
    try {
        await showSource(token, id, since, until);
    }
    catch (e) {
        if (token === sourceToken)
            sourceState("failed");
        throw e;
    }
}
async function showSource(token, id, since, until) {
    since = normalizeTime(since);
    until = normalizeTime(until);
    const query = windowQuery(since, until);
    setHash(`source=${encodeURIComponent(id)}${query ? `&${query.slice(1)}` : ""}`);
    $("record").hidden = true;
    $("source").hidden = false;
    $("source-id").textContent = id;
    $("source-since").value = since;
    $("source-until").value = until;
    const status = $("source-status");
    status.textContent = "fetching the track record and verifying it in this browser…";
    sourceState("loading");
    $("source").dataset.source = id;
    reset($("source-badge"));
    clearSource();
    const base = `/v1/sources/${encodeURIComponent(id)}`;
    const [bundleResp, scoreResp] = await Promise.all([api(`${base}/track-record${query}`), api(`${base}/score${query}`).catch((e) => e)]);
    if (token !== sourceToken)
        return;
    if (!bundleResp.ok) {
        status.textContent = "";
        badge(false, `No track record: the server answered ${await problem(bundleResp)}`, { check: "fetch" });
        return;
    }
    const text = await bundleResp.text();
    let keys;
    try {
        keys = [await parseVerifierKey($("vkey").value)];
    }
    catch (e) {
        status.textContent = "";
        badge(false, `Cannot verify: the verifier key: ${e.message}`, { check: "verifier_key" });
        return;
    }
    let t;
    try {
        t = await verifyTrackRecord(text, keys);
    }
    catch (e) {
        if (token !== sourceToken)
            return;
        status.textContent = "";
        if (e instanceof UnsupportedError) {
            badge(false, `Cannot verify here: ${e.message}.`, { check: "unsupported" });
        }
        else if (e instanceof TrackRecordError) {
            badge(false, `NOT verified: the ${e.check} check failed: ${e.detail}. Nothing of this bundle is shown.`, { check: e.check });
        }
        else {
            badge(false, `NOT verified: ${e.message}`, { check: "error" });
        }
        return;
    }
    if (token !== sourceToken)
        return;
    status.textContent = "";
    const last = t.records[t.records.length - 1];
    const seqs = last ? `seq ${t.firstSeq}..${last.seq}` : `no seq (the next is ${t.firstSeq})`;
    badge(true, `complete: ${t.count} records, ${seqs}, gaps ${t.gaps}, nothing missing up to ${t.completeUntil}` +
        (t.closed ? " (the present: the window ends at the log's close record)" : "") +
        ` — verified in this browser at checkpoint ${t.checkpoint.size}`, {
        count: String(t.count),
        firstSeq: String(t.firstSeq),
        lastSeq: last ? String(last.seq) : "",
        gaps: String(t.gaps),
        completeUntil: t.completeUntil,
        checkpoint: String(t.checkpoint.size),
    });
    if (t.outcomes) {
        const o = t.outcomes;
        $("source-outcomes").textContent =
            `Outcomes: ${o.count} records of ${o.source}, complete up to ${o.completeUntil}, verified as a track record of their own at the same checkpoint.`;
    }
    const commitments = new Map(t.commitments.map((c) => [c.seq, c]));
    let statuses = null;
    if (!t.scoring)
        $("source-outcomes").textContent = "No score: the source declared no scoring spec by this checkpoint.";
    if (t.scoring) {
        $("source-scoring").hidden = false;
        const spec = t.scoring.spec;
        $("source-spec").textContent = `${describeSpec(spec, spec.outcome_source ?? t.source)} Declared by seq ${t.scoring.seq} (${t.scoring.at}).`;
        try {
            const { score: s, records } = await scoreDetail(t);
            statuses = records;
            let server;
            if (scoreResp instanceof Error)
                server = { error: scoreResp.message };
            else if (!scoreResp.ok)
                server = { error: await problem(scoreResp) };
            else {
                try {
                    server = { score: (await scoreResp.json()) };
                }
                catch (e) {
                    server = { error: `not JSON: ${e.message}` };
                }
            }
            if (token !== sourceToken)
                return;
            drawScore(s, server);
            drawChart(chartModel(s), s);
        }
        catch (e) {
            const check = e instanceof ScoreError ? e.check : "error";
            const compare = $("source-score-compare");
            compare.className = "fail";
            compare.dataset.match = "none";
            compare.dataset.check = check;
            compare.textContent = `Cannot score this bundle: ${e.message}`;
        }
    }
    if (token !== sourceToken)
        return;
    drawCommitments(t);
    drawTimeline(t, statuses, commitments);
    $("source-details").hidden = false;
    sourceState("verified");
}
/** The hash this page last set: a hashchange to it is the page's own. */
let ownHash = "";
function setHash(h) {
    if (location.hash !== `#${h}`)
        location.hash = h;
    // As the browser holds it (it may normalise the encoding).
    ownHash = location.hash;
}
/** Opens what the URL's hash names: `#q=<search>` or `#source=<id>[&since=…][&until=…]`. */
function route() {
    const h = location.hash;
    const q = /^#q=(.+)$/.exec(h);
    if (q) {
        const text = decodeURIComponent(q[1]);
        $("q").value = text;
        void search(text);
        return;
    }
    if (h.startsWith("#source=")) {
        const p = new URLSearchParams(h.slice(1));
        const id = p.get("source") ?? "";
        void openSource(id, p.get("since") ?? "", p.get("until") ?? "").catch((e) => ($("source-status").textContent = e.message));
    }
}
// ---------------------------------------------------------------------------------------------
// Pictures
/** Lineage as layers: ancestors above (by generation), the record, descendants below. */
function drawLineage(id, ancestors, descendants) {
    const level = new Map([[id, 0]]);
    for (const e of ancestors) {
        if (!level.has(e.parent))
            level.set(e.parent, -e.depth);
    }
    for (const e of descendants) {
        if (!level.has(e.child))
            level.set(e.child, e.depth);
    }
    const MAX_PER_LEVEL = 10;
    const rows = new Map();
    for (const [node, l] of level)
        rows.set(l, [...(rows.get(l) ?? []), node]);
    const levels = [...rows.keys()].sort((a, b) => a - b);
    const W = 110, H = 34, GAP_X = 24, GAP_Y = 46;
    const widest = Math.min(MAX_PER_LEVEL + 1, Math.max(...[...rows.values()].map((r) => r.length)));
    const width = Math.max(400, widest * (W + GAP_X) + GAP_X);
    const height = levels.length * (H + GAP_Y) + GAP_Y / 2;
    const pos = new Map();
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "lineage graph", "data-nodes": level.size });
    const edges = svg("g");
    const nodes = svg("g");
    root.append(edges, nodes);
    levels.forEach((l, row) => {
        const ids = rows.get(l).sort((a, b) => Number(a) - Number(b));
        const shown = ids.slice(0, MAX_PER_LEVEL);
        const y = GAP_Y / 2 + row * (H + GAP_Y);
        const total = shown.length + (ids.length > shown.length ? 1 : 0);
        const x0 = (width - total * (W + GAP_X) + GAP_X) / 2;
        shown.forEach((n, i) => {
            const x = x0 + i * (W + GAP_X);
            pos.set(n, [x + W / 2, y]);
            const g = svg("g", { class: `node lineage-node${n === id ? " current" : ""}`, "data-id": n });
            g.append(svg("rect", { class: "box", x, y, width: W, height: H, rx: 4 }), svg("text", { x: x + W / 2, y: y + 21, "text-anchor": "middle" }, `record ${n}`));
            if (n !== id)
                g.addEventListener("click", () => openRecord(n).catch((e) => ($("search-status").textContent = e.message)));
            nodes.append(g);
        });
        if (ids.length > shown.length) {
            const x = x0 + shown.length * (W + GAP_X);
            nodes.append(svg("text", { class: "label", x: x + W / 2, y: y + 21, "text-anchor": "middle" }, `+${ids.length - shown.length} more`));
        }
    });
    for (const e of [...ancestors, ...descendants]) {
        const a = pos.get(e.parent), b = pos.get(e.child);
        if (a && b)
            edges.append(svg("line", { class: "edge", x1: a[0], y1: a[1] + H, x2: b[0], y2: b[1] }));
    }
    if (level.size === 1) {
        nodes.append(svg("text", { class: "label", x: width / 2, y: height - 4, "text-anchor": "middle" }, "no parents or children"));
    }
    $("lineage").replaceChildren(root);
}
const short = (h) => `${toHex(h).slice(0, 12)}…`;
/** The audit path, leaf at the bottom, each step's sibling beside it and their parent above. */
function drawPath(target, leaf, path, leafLabel, rootLabel) {
    const W = 170, H = 40, GAP_Y = 36, SIDE = 200;
    const rowsCount = path.length + 1;
    const width = 2 * SIDE + W + 40;
    const height = rowsCount * (H + GAP_Y) + 10;
    const cx = width / 2;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "inclusion proof", "data-steps": path.length });
    const edges = svg("g");
    const nodes = svg("g");
    root.append(edges, nodes);
    const yOf = (row) => height - (row + 1) * (H + GAP_Y) + GAP_Y / 2;
    const box = (cls, x, y, hash, caption) => {
        const g = svg("g", { class: `node ${cls}` });
        g.append(svg("title", {}, toHex(hash)), svg("rect", { class: "box", x: x - W / 2, y, width: W, height: H, rx: 5 }), svg("text", { x, y: y + 16, "text-anchor": "middle" }, short(hash)), svg("text", { class: "label", x, y: y + 32, "text-anchor": "middle" }, caption));
        nodes.append(g);
    };
    let node = leaf;
    for (let row = 0; row <= path.length; row++) {
        const y = yOf(row);
        const isRoot = row === path.length;
        const caption = row === 0 ? (isRoot ? `${leafLabel} = ${rootLabel}` : leafLabel) : isRoot ? rootLabel : `node, level ${row}`;
        box(row === 0 ? "leaf" : isRoot ? "root" : "inner", cx, y, node, caption);
        if (isRoot)
            break;
        const step = path[row];
        const sx = step.side === "left" ? cx - SIDE : cx + SIDE;
        box("sibling", sx, y, step.sibling, `proof[${row}] (${step.side})`);
        const py = yOf(row + 1) + H;
        edges.append(svg("path", { class: "edge", d: `M${cx},${y} L${cx},${py}` }), svg("path", { class: "edge", d: `M${sx},${y} L${cx},${py}` }));
        node = step.parent;
    }
    target.replaceChildren(root);
}
// ---------------------------------------------------------------------------------------------
// Verification
function show(result, receiptText, error) {
    $("result").hidden = false;
    const verdict = $("verdict");
    const checks = $("checks");
    checks.replaceChildren();
    let parsed = {};
    try {
        parsed = JSON.parse(receiptText);
    }
    catch {
        // shown as a parse failure below
    }
    if (result) {
        verdict.className = "ok";
        verdict.textContent = `Receipt valid: every check passed in this browser (record ${result.leafIndex}, ${result.record.kind} from ${result.record.source}).`;
        for (const p of result.passed)
            checks.append(el("li", p, "ok"));
        drawPath($("proof"), result.leafHash, result.path, `leaf ${result.leafIndex}`, `root at size ${result.checkpoint.size}`);
        $("proof-caption").textContent = `Computed by this browser from the receipt: leaf ${result.leafIndex} of a tree of ${result.checkpoint.size}, ${result.path.length} step(s) to the signed root.`;
        const itemBlock = $("item-proof-block");
        itemBlock.hidden = !result.item;
        if (result.item) {
            drawPath($("item-proof"), result.item.leafHash, result.item.path, `row ${result.item.index}`, "content root");
        }
    }
    else {
        verdict.className = "bad";
        const check = error instanceof VerifyError ? error.check : "error";
        verdict.textContent =
            error instanceof UnsupportedError
                ? `Cannot verify here: ${error.message}.`
                : `Receipt INVALID: the ${check} check failed.`;
        verdict.dataset.check = check;
        if (error instanceof VerifyError)
            for (const p of error.passed)
                checks.append(el("li", p, "ok"));
        checks.append(el("li", error?.message ?? "unknown error", "bad"));
        $("proof").replaceChildren(el("p", "No picture: the proof was not verified.", "muted"));
        $("proof-caption").textContent = "";
        $("item-proof-block").hidden = true;
    }
    $("checkpoint").textContent = typeof parsed.checkpoint === "string" ? parsed.checkpoint : "(none)";
    const a = parsed.anchor;
    if (a && typeof a === "object") {
        const tx = String(a.tx_hash);
        let txCell = el("span", tx, "mono");
        if (config.explorer_tx_url && /^0x[0-9a-fA-F]{64}$/.test(tx)) {
            const link = el("a", tx, "mono");
            link.href = config.explorer_tx_url.replaceAll("{tx}", tx);
            link.rel = "noopener noreferrer";
            link.target = "_blank";
            link.id = "tx-link";
            txCell = link;
        }
        kv($("anchor"), [
            ["chain id", String(a.chain_id)],
            ["contract", el("span", String(a.contract), "mono")],
            ["transaction", txCell],
            ["block", `${a.block_number} (${a.block_hash})`],
            ["block time", typeof a.block_timestamp === "number"
                    ? `${new Date(a.block_timestamp * 1000).toISOString()}: logged no later than this, if the chain confirms the block (provlog verify receipt --rpc-url)`
                    : "not in this receipt"],
            ["tree size", String(a.tree_size)],
            ["log id", el("span", String(a.log_id), "mono")],
            ["checked here", result ? "fields and log id only: whether the contract holds this root needs the chain (provlog verify receipt --rpc-url)" : "no"],
        ]);
    }
    else {
        kv($("anchor"), [["anchor", "none in this receipt (not anchored yet, or the log does not anchor)"]]);
    }
    $("result").scrollIntoView({ block: "start" });
}
async function verifyText(text) {
    let keys;
    try {
        keys = [await parseVerifierKey($("vkey").value)];
    }
    catch (e) {
        show(null, text, new Error(`verifier key: ${e.message}`));
        return;
    }
    try {
        show(await verifyReceipt(text, keys), text, null);
    }
    catch (e) {
        show(null, text, e);
    }
}
async function fetchAndVerify() {
    if (!current)
        return;
    // A registry record's receipt proves its event (item 0) too.
    const item = current.kind === "source" ? "?item=0" : current.kind === "snapshot" ? `?item=${encodeURIComponent($("item").value || "0")}` : "";
    const resp = await api(`/v1/records/${current.id}/receipt${item}`);
    const text = await resp.text();
    if (!resp.ok) {
        show(null, "{}", new Error(`the server sent no receipt (${resp.status}): ${text}`));
        return;
    }
    // Shown in the box too, so it can be saved, changed and verified again.
    $("receipt-json").value = text;
    await verifyText(text);
}
// ---------------------------------------------------------------------------------------------
function wire() {
    $("search-form").addEventListener("submit", (ev) => {
        ev.preventDefault();
        void search($("q").value.trim());
    });
    $("receipt-form").addEventListener("submit", (ev) => {
        ev.preventDefault();
        fetchAndVerify().catch((e) => show(null, "{}", e));
    });
    $("verify-pasted").addEventListener("click", () => void verifyText($("receipt-json").value));
    $("check-payload").addEventListener("click", () => void checkPayload());
    $("list-sources").addEventListener("click", () => void listSources());
    $("source-form").addEventListener("submit", (ev) => {
        ev.preventDefault();
        const id = $("source-id").textContent ?? "";
        const since = $("source-since").value.trim();
        const until = $("source-until").value.trim();
        void openSource(id, since, until).catch((e) => ($("source-status").textContent = e.message));
    });
    window.addEventListener("hashchange", () => {
        if (location.hash !== ownHash)
            route();
    });
    $("receipt-file").addEventListener("change", async () => {
        const file = $("receipt-file").files?.[0];
        if (!file)
            return;
        const text = await file.text();
        $("receipt-json").value = text;
        await verifyText(text);
    });
    $("auth-form").addEventListener("submit", (ev) => {
        ev.preventDefault();
        readKey = $("read-key").value.trim() || null;
        void loadLog();
    });
    $("vkey").addEventListener("input", () => {
        $("vkey-origin").textContent = "Pinned by you: receipts are checked against this key.";
        $("vkey-origin").className = "pass";
    });
}
wire();
void loadLog().then(route);
