#!/usr/bin/env node
// Builds artifacts/ProvenanceAnchor.json (ABI + bytecode for the Rust side) with solc-js directly,
// using the compiler settings of foundry.toml's [profile.default], deterministically.
//
//   node tools/artifact.cjs           write the artifact
//   node tools/artifact.cjs --check   recompile; fail if the committed artifact differs, and (when
//                                     forge's out/ exists) if forge's bytecode differs from it
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const ROOT = path.resolve(__dirname, '..');
const SOURCE = 'src/ProvenanceAnchor.sol';
const CONTRACT = 'ProvenanceAnchor';
const ARTIFACT = path.join(ROOT, 'artifacts', `${CONTRACT}.json`);
const FORGE_OUT = path.join(ROOT, 'out', path.basename(SOURCE), `${CONTRACT}.json`);
const SOLC_VERSION = '0.8.30';

function fail(msg) {
  console.error(`artifact: ${msg}`);
  process.exit(1);
}

// Reads the keys we need from [profile.default] of foundry.toml (flat `key = value` lines).
function foundrySettings() {
  const text = fs.readFileSync(path.join(ROOT, 'foundry.toml'), 'utf8');
  const values = {};
  let section = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const header = line.match(/^\[(.+)\]$/);
    if (header) {
      section = header[1].trim();
      continue;
    }
    const kv = line.match(/^([A-Za-z0-9_]+)\s*=\s*(.+)$/);
    if (section === 'profile.default' && kv) values[kv[1]] = kv[2].trim();
  }
  const need = (k) => {
    if (!(k in values)) fail(`foundry.toml [profile.default] lacks ${k}`);
    return values[k];
  };
  const bool = (k) => {
    const v = need(k);
    if (v !== 'true' && v !== 'false') fail(`${k} must be true or false, not ${v}`);
    return v === 'true';
  };
  const str = (k) => {
    const m = need(k).match(/^"([^"]*)"$/);
    if (!m) fail(`${k} must be a string`);
    return m[1];
  };
  const runs = Number(need('optimizer_runs').replace(/_/g, ''));
  if (!Number.isSafeInteger(runs)) fail('optimizer_runs must be an integer');
  // Same shape as the settings forge passes to solc (see `forge build --build-info`).
  return {
    optimizer: { enabled: bool('optimizer'), runs },
    metadata: { useLiteralContent: false, bytecodeHash: str('bytecode_hash'), appendCBOR: true },
    evmVersion: str('evm_version'),
    viaIR: bool('via_ir'),
    libraries: {},
  };
}

// Collects SOURCE and its imports (relative paths only), keyed by project-relative path as forge does.
function collectSources() {
  const sources = {};
  const visit = (rel) => {
    if (sources[rel]) return;
    const content = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    sources[rel] = { content };
    for (const m of content.matchAll(/^\s*import\s+[^"']*["']([^"']+)["']\s*;/gm)) {
      if (!m[1].startsWith('.')) fail(`non-relative import ${m[1]} in ${rel}`);
      visit(path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1])));
    }
  };
  visit(SOURCE);
  return Object.fromEntries(Object.keys(sources).sort().map((k) => [k, sources[k]]));
}

function build() {
  if (!solc.version().startsWith(`${SOLC_VERSION}+`)) {
    fail(`solc-js is ${solc.version()}, expected ${SOLC_VERSION}; run npm ci`);
  }
  const settings = foundrySettings();
  const sources = collectSources();
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      ...settings,
      outputSelection: { [SOURCE]: { [CONTRACT]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) fail(`compilation failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const c = output.contracts[SOURCE][CONTRACT];
  const artifact = {
    contractName: CONTRACT,
    sourceName: SOURCE,
    compiler: { name: 'solc', version: solc.version() },
    settings,
    sources: Object.fromEntries(
      Object.entries(sources).map(([k, v]) => [k, { sha256: crypto.createHash('sha256').update(v.content).digest('hex') }]),
    ),
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
  };
  return `${JSON.stringify(artifact, null, 2)}\n`;
}

function check(fresh) {
  if (!fs.existsSync(ARTIFACT)) fail(`${path.relative(ROOT, ARTIFACT)} is missing; run npm run artifact`);
  const committed = fs.readFileSync(ARTIFACT, 'utf8');
  if (committed !== fresh) {
    const a = JSON.parse(committed);
    const b = JSON.parse(fresh);
    const differing = Object.keys({ ...a, ...b }).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
    fail(`${path.relative(ROOT, ARTIFACT)} is stale (differs in: ${differing.join(', ') || 'formatting'}); run npm run artifact`);
  }
  // Cross-check against forge's own build when there is one: same compiler, same settings, so the
  // contract forge tested must be byte-for-byte the one the Rust side deploys.
  if (fs.existsSync(FORGE_OUT)) {
    const forge = JSON.parse(fs.readFileSync(FORGE_OUT, 'utf8'));
    const mine = JSON.parse(fresh);
    if (forge.bytecode.object !== mine.bytecode || forge.deployedBytecode.object !== mine.deployedBytecode) {
      fail(`forge's ${path.relative(ROOT, FORGE_OUT)} bytecode differs from the artifact (settings drift?)`);
    }
    console.log(`artifact: ${path.relative(ROOT, ARTIFACT)} is up to date and matches forge's build`);
  } else {
    console.log(`artifact: ${path.relative(ROOT, ARTIFACT)} is up to date (no forge build to cross-check)`);
  }
}

const fresh = build();
if (process.argv.includes('--check')) {
  check(fresh);
} else {
  fs.mkdirSync(path.dirname(ARTIFACT), { recursive: true });
  fs.writeFileSync(ARTIFACT, fresh);
  console.log(`artifact: wrote ${path.relative(ROOT, ARTIFACT)}`);
}
