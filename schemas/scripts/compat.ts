/**
 * `npm run schemas:compat`: fails (exit 1) when events/ breaks a published schema version.
 * Exit 2 when it cannot compare at all. See scripts/compat/parseCompatArgs.ts for the flags.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareSchemaSets } from './compat/compareSchemaSets.js';
import { CompatError } from './compat/CompatError.js';
import { formatFindings } from './compat/formatFindings.js';
import { COMPAT_USAGE, parseCompatArgs } from './compat/parseCompatArgs.js';
import { readSchemaDir } from './compat/readSchemaSet.js';
import { resolveBaseline } from './compat/resolveBaseline.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<number> {
  const args = parseCompatArgs(process.argv.slice(2));
  if (args.help) {
    console.log(COMPAT_USAGE);
    return 0;
  }
  const { name } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
    name: string;
  };
  const baseline = await resolveBaseline(args.source, packageDir, name);
  const current = await readSchemaDir(join(packageDir, 'events'));
  const findings = compareSchemaSets(baseline.schemas, current);
  console.log(formatFindings(findings, baseline.description));
  return findings.some((f) => f.breaking) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CompatError)
      console.error(`schemas:compat: ${err.message}${err.usage ? `\n\n${COMPAT_USAGE}` : ''}`);
    else console.error('schemas:compat failed:', err);
    process.exitCode = 2;
  },
);
