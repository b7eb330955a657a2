import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { withEsmRequire } from '../scripts/withEsmRequire.js';

const run = promisify(execFile);
const pkgDir = join(import.meta.dirname, '..');

describe('codegen --check', () => {
  it('finds the committed generated code up to date with events/*.schema.json', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/codegen.ts', '--check'],
      {
        cwd: pkgDir,
      },
    );
    expect(stdout).to.match(/up to date/);
  });
});

describe('generated validators', () => {
  it('run as plain ESM under node, without tsx (regression: "require is not defined in ES module scope")', async () => {
    // tsx provides `require` inside ES modules, so only a plain node process shows the bug.
    const source = await readFile(join(pkgDir, 'src', 'generated', 'validators.ts'), 'utf8');
    const probe = `
      const v = com_jetbox_match_cancelled_v1;
      const ok = v({ matchId: '0190a8a6-6f4e-7c4b-9d7e-2f4a1b3c5d6e', reason: 'x'.repeat(501) });
      console.log(JSON.stringify({ ok, errors: v.errors }));`;
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '--eval', `${source}\n${probe}`],
      // Evaluated code resolves `ajv` from the working directory, like the package would.
      { cwd: pkgDir, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const result = JSON.parse(stdout) as { ok: boolean; errors: { instancePath: string }[] };
    expect(result.ok).to.equal(false);
    expect(result.errors.map((e) => e.instancePath)).to.deep.equal(['/reason']);
  });

  it('gives ajv runtime requires a real require and drops the stray "use strict"', () => {
    const code = withEsmRequire(
      '"use strict";const f = require("ajv/dist/runtime/equal").default;',
    );
    expect(code).to.equal(
      'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\nconst f = require("ajv/dist/runtime/equal").default;',
    );
    expect(withEsmRequire('"use strict";export const v = 1;')).to.equal('export const v = 1;');
  });
});
