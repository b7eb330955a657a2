import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);

describe('codegen --check', () => {
  it('finds the committed generated code up to date with events/*.schema.json', async () => {
    const { stdout } = await run('npx', ['tsx', 'scripts/codegen.ts', '--check']);
    expect(stdout).to.match(/up to date/);
  });
});
