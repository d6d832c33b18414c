#!/usr/bin/env node
// Native-solc stand-in backed by solc-js (WebAssembly), so forge runs offline.
//
// forge calls its compiler as `solc [flags] --standard-json` with the standard-JSON input on
// stdin, and as `solc --version` to learn the version. solc-js's own CLI rejects forge's flags
// (e.g. --allow-paths), so this wrapper ignores all flags except --base-path/--include-path,
// which it uses (with the cwd) to resolve imports that are not already in the input.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const args = process.argv.slice(2);

if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\n');
  process.stdout.write(`Version: ${solc.version()}\n`);
  process.exit(0);
}

// Collect --base-path / --include-path values, both `--flag value` and `--flag=value`.
const roots = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  for (const flag of ['--base-path', '--include-path']) {
    if (a === flag && i + 1 < args.length) roots.push(args[++i]);
    else if (a.startsWith(flag + '=')) roots.push(a.slice(flag.length + 1));
  }
}
roots.push(process.cwd());
const searchRoots = [...new Set(roots)];

function findImports(importPath) {
  const candidates = path.isAbsolute(importPath)
    ? [importPath]
    : searchRoots.map((r) => path.resolve(r, importPath));
  for (const p of candidates) {
    try {
      return { contents: fs.readFileSync(p, 'utf8') };
    } catch (_) {
      // try the next root
    }
  }
  return { error: `File not found: ${importPath} (searched ${searchRoots.join(', ')})` };
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
