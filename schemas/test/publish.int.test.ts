import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import {
  CONSUMER_FIXTURE,
  compareDiagnostics,
  readExpectedErrors,
  runTsc,
  type TscDiagnostic,
} from './support/typecheck.js';
import { startVerdaccio, type VerdaccioHandle } from './support/verdaccio.js';

const pkgDir = join(import.meta.dirname, '..');
const workspaceDir = join(pkgDir, '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command and resolves with its exit code and output, also when it fails. The
 * workspace settings npm passes to its scripts (`npm_config_workspace`, ...) are dropped so a
 * nested npm works on the folder it is started in; the user's own npm config stays.
 */
function sh(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^npm_(config_workspaces?|config_include_workspace_root|package_|lifecycle_)/i.test(k),
    ),
  );
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd, env: { ...base, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number')
          reject(new Error(`cannot run ${file}: ${err.message}`, { cause: err }));
        else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

function ok(what: string, run: Run): Run {
  if (run.code !== 0)
    throw new Error(`${what} failed (exit ${run.code}):\n${run.stderr}\n${run.stdout}`);
  return run;
}

/** `npm --json` output after whatever lifecycle scripts printed before it. */
function npmJson<T>(stdout: string): T {
  const start = stdout.search(/^[[{]/m);
  if (start < 0) throw new Error(`no JSON in npm output:\n${stdout}`);
  return JSON.parse(stdout.slice(start)) as T;
}

interface Packed {
  filename: string;
  integrity: string;
  files: { path: string }[];
}

describe('@jetbox/schemas published to a registry and installed elsewhere', function () {
  this.timeout(120_000);
  let tmp: string;
  let registry: VerdaccioHandle | undefined;
  let packed: Packed;
  let consumer: string;
  let compatBeforePublish: Run;
  let tsc: { exitCode: number; diagnostics: TscDiagnostic[]; output: string };

  before(async () => {
    tmp = await realpath(await mkdtemp(join(tmpdir(), 'jetbox-publish-')));
    registry = await startVerdaccio(join(tmp, 'registry'));
    const url = registry.url;
    // A userconfig of our own: the fake token publish needs never touches ~/.npmrc.
    const userconfig = join(tmp, 'publish.npmrc');
    await writeFile(
      userconfig,
      `registry=${url}\n@jetbox:registry=${url}\n//127.0.0.1:${registry.port}/:_authToken=fake-local-token\n`,
    );

    compatBeforePublish = await sh(
      process.execPath,
      ['--import', 'tsx', 'scripts/compat.ts', '--registry', url],
      pkgDir,
    );

    // prepack regenerates nothing (codegen --check), then builds dist/ from scratch.
    const pack = ok(
      'npm pack',
      await sh(
        'npm',
        ['pack', '-w', '@jetbox/schemas', '--json', '--pack-destination', tmp],
        workspaceDir,
      ),
    );
    [packed] = npmJson<Packed[]>(pack.stdout) as [Packed];
    ok(
      'npm publish',
      await sh(
        'npm',
        ['publish', join(tmp, packed.filename), '--registry', url, '--userconfig', userconfig],
        tmp,
      ),
    );

    consumer = join(tmp, 'consumer');
    await mkdir(consumer);
    await writeFile(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'jetbox-consumer', private: true, type: 'module' }),
    );
    // Only the scope comes from the local registry; ajv and friends from the npm cache (or npmjs).
    await writeFile(join(consumer, '.npmrc'), `@jetbox:registry=${url}\n`);
    await writeFile(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['good.ts', 'bad.ts'],
      }),
    );
    for (const file of ['good.ts', 'bad.ts', 'runtime.mjs'])
      await copyFile(join(CONSUMER_FIXTURE, file), join(consumer, file));

    const install = async (freshness: string) =>
      ok(
        'npm install',
        await sh(
          'npm',
          ['install', '@jetbox/schemas', freshness, '--no-audit', '--no-fund'],
          consumer,
        ),
      );
    await install('--prefer-offline');
    if ((await installedIntegrity()) !== packed.integrity) {
      // The npm cache keeps registry metadata by URL: a run long ago on the same port leaves a
      // stale @jetbox/schemas document that --prefer-offline trusts. Ask the registry instead.
      await rm(join(consumer, 'node_modules'), { recursive: true, force: true });
      await rm(join(consumer, 'package-lock.json'), { force: true });
      await install('--prefer-online');
    }
    tsc = await runTsc(consumer);
  });

  after(async () => {
    await registry?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && registry) {
      const log = await readFile(registry.logFile, 'utf8').catch(() => '');
      console.log(`verdaccio log (last 30 lines):\n${log.split('\n').slice(-30).join('\n')}`);
    }
  });

  async function installedIntegrity(): Promise<string | undefined> {
    const lock = JSON.parse(await readFile(join(consumer, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { integrity?: string }>;
    };
    return lock.packages['node_modules/@jetbox/schemas']?.integrity;
  }

  it('packs ESM JS, .d.ts, the JSON Schemas and the README, and nothing of the workspace', () => {
    const files = packed.files.map((f) => f.path);
    expect(files).to.include.members([
      'package.json',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/generated/validators.js',
      'dist/generated/types.d.ts',
      'dist/generated/registry.js',
      'events/com.jetbox.match.created.v1.schema.json',
      'events/com.jetbox.match.cancelled.v1.schema.json',
      'events/com.jetbox.match.cancelled.v2.schema.json',
    ]);
    expect(
      files.filter((f) => /^(test|scripts|node_modules)\/|tsconfig|\.tgz$/.test(f)),
    ).to.deep.equal([]);
  });

  it('installs from the local registry into a project outside the workspace', async () => {
    expect(relative(workspaceDir, consumer)).to.match(/^\.\./);
    const installed = join(consumer, 'node_modules', '@jetbox', 'schemas');
    // A real copy from the tarball, not a link back into the workspace.
    expect(await realpath(installed)).to.equal(installed);
    expect(await installedIntegrity()).to.equal(packed.integrity);
    const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as {
      version: string;
      exports: object;
    };
    expect(pkg.version).to.match(/^\d+\.\d+\.\d+/);
    expect(pkg.exports).to.have.property('.');
  });

  it('(a) compiles correct TypeScript usage against the installed types', () => {
    expect(tsc.diagnostics.filter((d) => d.file !== 'bad.ts')).to.deep.equal([]);
  });

  it('(b) does not compile wrong usage: wrong field type, missing field, unknown type, ...', async () => {
    const expected = await readExpectedErrors(consumer, 'bad.ts');
    expect(expected).to.have.length.greaterThan(3);
    expect(compareDiagnostics(tsc.diagnostics, expected)).to.deep.equal([]);
    expect(tsc.exitCode).to.not.equal(0);
  });

  it('(c) validates at runtime under plain node: accepts good data, rejects bad data naming the field', async () => {
    // No NODE_OPTIONS: a loader such as tsx would hide an ESM/CommonJS mistake in the build.
    const run = ok(
      'node runtime.mjs',
      await sh(process.execPath, ['runtime.mjs'], consumer, { NODE_OPTIONS: '' }),
    );
    const out = JSON.parse(run.stdout) as {
      types: string[];
      schemaId: string;
      good: { ok: boolean };
      bad: { ok: boolean; issues: { path: string; message: string }[] };
      thrown: { isSchemaError: boolean; code: string; message: string };
      upcast: unknown;
    };
    expect(out.types).to.include.members([
      'com.jetbox.match.created',
      'com.jetbox.match.cancelled',
    ]);
    expect(out.schemaId).to.equal('urn:jetbox:schema:com.jetbox.match.created:v1');
    expect(out.good.ok).to.equal(true);
    expect(out.bad.ok).to.equal(false);
    expect(out.bad.issues).to.deep.include({
      path: '/matchId',
      message: 'must match format "uuid"',
    });
    expect(out.bad.issues).to.deep.include({ path: '/region', message: 'must be string' });
    expect(out.thrown).to.include({ isSchemaError: true, code: 'INVALID_EVENT_DATA' });
    expect(out.thrown.message).to.include('/reason/code must be one of');
    expect(out.thrown.message).to.include('/reason/note must NOT have more than 500 characters');
    expect(out.upcast).to.deep.equal({
      matchId: '0190a8a6-6f4e-7c4b-9d7e-2f4a1b3c5d6e',
      userIds: [],
      reason: { code: 'other', note: 'moved away' },
    });
  });

  it('schemas:compat compares with the registry, and falls back to git while nothing is published', async () => {
    expect(compatBeforePublish.stdout).to.include('@jetbox/schemas is not published yet');
    expect(compatBeforePublish.stdout).to.match(/comparing events\/ with git /);
    expect([0, 1]).to.include(compatBeforePublish.code);

    const after = await sh(
      process.execPath,
      ['--import', 'tsx', 'scripts/compat.ts', '--registry', registry!.url],
      pkgDir,
    );
    expect(after.stdout).to.include(`comparing events/ with @jetbox/schemas@`);
    expect(after.stdout).to.include(`from ${registry!.url}`);
    expect(after.stdout).to.include('OK: no changes.');
    expect(after.code).to.equal(0);
  });
});
