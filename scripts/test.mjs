#!/usr/bin/env node
// `npm test`: every workspace's mocha suite through Turborepo, then one summary for all of them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, '.test-results');
rmSync(resultsDir, { recursive: true, force: true });

const args = ['turbo', 'run', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)];
const run = spawnSync('npx', args, {
  cwd: root,
  stdio: 'inherit',
  env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env },
});

let passed = 0;
let failed = 0;
let pending = 0;
const failures = [];
const packages = existsSync(resultsDir)
  ? readdirSync(resultsDir).filter((f) => f.endsWith('.json'))
  : [];
console.log('\njetbox test summary');
for (const file of packages.sort()) {
  const {
    package: name,
    stats,
    failures: f,
  } = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
  passed += stats.passes;
  failed += stats.failures;
  pending += stats.pending;
  failures.push(...f.map((x) => `${name}: ${x.title} — ${x.message}`));
  console.log(
    `  ${name}: ${stats.passes} passing, ${stats.failures} failing (${(stats.duration / 1000).toFixed(1)} s)`,
  );
}
for (const f of failures) console.log(`  FAILED ${f}`);
const status = run.status ?? 1;
if (status !== 0 && failed === 0) {
  // A package failed outside mocha (build, type error, crash): count it so the line never lies.
  failed += 1;
  console.log('  a task failed before or outside its tests: see the output above');
}
console.log(`\n${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
process.exit(status !== 0 ? status : failed > 0 ? 1 : 0);
