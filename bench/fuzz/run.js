#!/usr/bin/env node
// The long fuzz run: `npm run fuzz -- --cases 10000 [--seed N] [--workers 1] [--first 0] [--case ID] [--out docs/fuzzing.md]`.
// Cases run in worker processes (dist/test/fuzz/runner.js); crashes, hangs and runaway memory are recorded. The
// summary (counts per class and outcome, every non-typed case with its id) is written to --out.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { runFuzz } = require('../../dist/test/fuzz/runner.js');
const { runCase } = require('../../dist/test/fuzz/cases.js');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

async function main() {
  const seed = Number(arg('seed', '20261203'));
  if (arg('case') !== undefined) {
    console.log(JSON.stringify(await runCase(seed, Number(arg('case'))), null, 1));
    return;
  }
  const cases = Number(arg('cases', '1000'));
  const workers = Number(arg('workers', '1'));
  const first = Number(arg('first', '0'));
  const out = arg('out', path.join(__dirname, '../../docs/fuzzing.md'));
  const started = Date.now();
  let n = 0;
  const bad = [];
  const results = await runFuzz({
    seed,
    cases,
    first,
    workers,
    caseTimeoutMs: Number(arg('timeout-ms', '30000')),
    onResult: (r) => {
      n++;
      if (!['ok', 'typed'].includes(r.outcome)) {
        bad.push(r);
        console.log(JSON.stringify(r));
      }
      if (n % 250 === 0) console.log(`${n}/${cases} cases, ${Math.round((Date.now() - started) / 1000)} s, ${bad.length} not ok/typed`);
    },
  });
  const secs = Math.round((Date.now() - started) / 1000);
  const byClass = new Map();
  for (const r of results) {
    const row = byClass.get(r.cls) ?? { ok: 0, typed: 0, untyped: 0, crash: 0, hang: 0, runaway: 0 };
    row[r.outcome]++;
    byClass.set(r.cls, row);
  }
  const codes = new Map();
  for (const r of results) if (r.outcome === 'typed') codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
  const cols = ['ok', 'typed', 'untyped', 'crash', 'hang', 'runaway'];
  const total = Object.fromEntries(cols.map((c) => [c, results.filter((r) => r.outcome === c).length]));
  const lines = [
    `| class | cases | ${cols.join(' | ')} |`,
    `|---|---|${cols.map(() => '---').join('|')}|`,
    ...[...byClass]
      .sort()
      .map(([cls, row]) => `| ${cls} | ${cols.reduce((a, c) => a + row[c], 0)} | ${cols.map((c) => row[c]).join(' | ')} |`),
    `| **all** | ${results.length} | ${cols.map((c) => total[c]).join(' | ')} |`,
  ];
  const report = {
    seed,
    first,
    cases: results.length,
    workers,
    seconds: secs,
    node: process.version,
    table: lines.join('\n'),
    codes: [...codes]
      .sort((a, b) => b[1] - a[1])
      .map(([c, k]) => `${c} (${k})`)
      .join(', '),
    notOk: bad.map((r) => `- case ${r.id} (${r.cls}, ${r.outcome}): ${r.what} — ${r.message ?? r.code ?? ''}`).join('\n') || '- none',
  };
  fs.writeFileSync(out.replace(/\.md$/, '.json'), JSON.stringify(report, null, 1));
  console.log(lines.join('\n'));
  console.log(`written ${out.replace(/\.md$/, '.json')} (${secs} s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
