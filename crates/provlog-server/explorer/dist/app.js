// The /explorer page: finds a record, shows its provenance and lineage, and verifies its receipt
// in this browser with ./verify.js against a verifier key the user pins. The server's own word
// (its /v1 answers, its prefilled key) is displayed, never relied on for the verdict.
// DOM is built with textContent and createElement only (the page's CSP allows no inline code).
import { toHex, parseVerifierKey, UnsupportedError, verifyReceipt, VerifyError } from "./verify.js";
import { fromBase64, leafHash, toBase64 } from "./bytes.js";
import { canonicalize, duplicateKey, strictOffence } from "./jcs.js";
import { EvidenceError, verifySourceEvidence } from "./evidence.js";
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
        let found = [];
        for (const field of ["content_root", "leaf_hash"]) {
            const page = await apiJson(`/v1/records?${field}=${encodeURIComponent(q)}&limit=50`);
            if (page.records.length > 0) {
                found = page.records;
                break;
            }
        }
        if (found.length === 0) {
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
    location.hash = `q=${r.id}`;
    $("record").hidden = false;
    // The key's evidence is checked first, so the record's id (which tests and users take as
    // "the page shows this record") appears with its whole provenance.
    const registry = await registryRow(r);
    $("record-id").textContent = r.id;
    kv($("record-summary"), [
        ["kind", r.kind],
        ["source", r.source],
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
void loadLog().then(() => {
    const m = /^#q=(.+)$/.exec(location.hash);
    if (m) {
        const q = decodeURIComponent(m[1]);
        $("q").value = q;
        void search(q);
    }
});
