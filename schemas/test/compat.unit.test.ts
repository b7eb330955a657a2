import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { compareSchemaSets } from '../scripts/compat/compareSchemaSets.js';
import { CompatError } from '../scripts/compat/CompatError.js';
import type { CompatFinding, SchemaEntry } from '../scripts/compat/findings.js';
import { formatFindings } from '../scripts/compat/formatFindings.js';
import { parseCompatArgs } from '../scripts/compat/parseCompatArgs.js';
import { readGitBaseline } from '../scripts/compat/readGitBaseline.js';
import { readSchemaDir } from '../scripts/compat/readSchemaSet.js';

type Schema = Record<string, unknown>;
const TYPE = 'com.jetbox.test.happened';

/** A v1 schema shaped like the real ones: ids, an array of ids, an enum, a nested object. */
function base(version = 1): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `urn:jetbox:schema:${TYPE}:v${version}`,
    type: 'object',
    required: ['id', 'userIds', 'status', 'detail'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      userIds: { type: 'array', items: { type: 'string' }, maxItems: 2 },
      status: { type: 'string', enum: ['open', 'closed'] },
      region: { type: 'string', maxLength: 64 },
      detail: {
        type: 'object',
        required: ['code'],
        properties: { code: { type: 'string', enum: ['a', 'b'] }, note: { type: 'string' } },
      },
      tags: {
        type: 'array',
        items: { type: 'object', required: ['key'], properties: { key: { type: 'string' } } },
      },
    },
  };
}

const entry = (schema: Schema, version = 1, type = TYPE): SchemaEntry => ({
  type,
  version,
  file: `${type}.v${version}.schema.json`,
  schema,
});

/** Compares `base()` with an edited copy of it, both as v1. */
function compareEdit(edit: (s: Schema & { properties: Record<string, Schema> }) => void) {
  const after = structuredClone(base()) as Schema & { properties: Record<string, Schema> };
  edit(after);
  return compareSchemaSets([entry(base())], [entry(after)]);
}

const breaking = (findings: CompatFinding[]) => findings.filter((f) => f.breaking);
const summary = (findings: CompatFinding[]) =>
  findings.map((f) => `${f.breaking ? 'BREAKING' : 'ok'} ${f.rule} ${f.path}`);

describe('schemas:compat rules', () => {
  it('finds nothing when nothing changed, and ignores documentation edits', () => {
    expect(compareEdit(() => {})).to.deep.equal([]);
    expect(
      compareEdit((s) => {
        s.description = 'new words';
        s.properties.id!.description = 'the id';
        s.properties.region!.examples = ['eu'];
      }),
    ).to.deep.equal([]);
  });

  describe('field removed', () => {
    it('breaks when a field is removed', () => {
      const findings = compareEdit((s) => delete s.properties.region);
      expect(summary(findings)).to.deep.equal(['BREAKING field-removed $.region']);
      expect(findings[0]).to.include({ type: TYPE, version: 1 });
      expect(findings[0]!.message).to.equal(
        'field "region" was removed: consumers reading it would get undefined',
      );
    });

    it('passes when an optional field is added instead', () => {
      const findings = compareEdit((s) => (s.properties.venue = { type: 'string' }));
      expect(summary(findings)).to.deep.equal(['ok field-added $.venue']);
      expect(findings[0]!.message).to.equal('new optional field "venue"');
    });
  });

  describe('type changed', () => {
    it('breaks when a field changes type', () => {
      const findings = compareEdit((s) => (s.properties.region = { type: 'integer' }));
      expect(summary(breaking(findings))).to.deep.equal(['BREAKING type-changed $.region']);
      expect(findings[0]!.message).to.equal('type changed from "string" to "integer"');
    });

    it('breaks when a type is widened to a union or dropped', () => {
      expect(
        summary(compareEdit((s) => (s.properties.region!.type = ['string', 'null']))),
      ).to.deep.equal(['BREAKING type-changed $.region']);
      expect(summary(compareEdit((s) => delete s.properties.region!.type))).to.deep.equal([
        'BREAKING type-changed $.region',
      ]);
    });

    it('passes when the type stays and only a bound loosens', () => {
      const findings = compareEdit((s) => (s.properties.region!.maxLength = 128));
      expect(summary(findings)).to.deep.equal(['ok constraint-widened $.region']);
    });
  });

  describe('renamed', () => {
    it('reports a rename as the removal of the old name', () => {
      const findings = compareEdit((s) => {
        s.properties.area = s.properties.region!;
        delete s.properties.region;
      });
      expect(summary(findings)).to.deep.equal([
        'BREAKING field-removed $.region',
        'ok field-added $.area',
      ]);
      expect(findings[0]!.message).to.match(/renamed to "area"\? a rename is a removal too/);
    });

    it('passes when the rename comes as a new version and v1 stays', () => {
      const v2 = base(2) as Schema & { properties: Record<string, Schema> };
      v2.properties.area = v2.properties.region!;
      delete v2.properties.region;
      const findings = compareSchemaSets([entry(base())], [entry(base()), entry(v2, 2)]);
      expect(summary(findings)).to.deep.equal(['ok version-added $']);
    });
  });

  describe('new required field', () => {
    it('breaks when a new field is required without a default', () => {
      const findings = compareEdit((s) => {
        s.properties.venue = { type: 'string' };
        (s.required as string[]).push('venue');
      });
      expect(summary(findings)).to.deep.equal(['BREAKING required-without-default $.venue']);
      expect(findings[0]!.message).to.match(/new field "venue" is required without a default/);
    });

    it('passes when the new required field has a default', () => {
      const findings = compareEdit((s) => {
        s.properties.venue = { type: 'string', default: 'online' };
        (s.required as string[]).push('venue');
      });
      expect(summary(findings)).to.deep.equal(['ok field-added $.venue']);
      expect(findings[0]!.message).to.equal('new required field with a default "venue"');
    });

    it('breaks when an optional field becomes required without a default, passes with one', () => {
      expect(summary(compareEdit((s) => (s.required as string[]).push('region')))).to.deep.equal([
        'BREAKING required-without-default $.region',
      ]);
      expect(
        compareEdit((s) => {
          (s.required as string[]).push('region');
          s.properties.region!.default = 'eu';
        }),
      ).to.deep.equal([]);
    });

    it('breaks when a required field becomes optional: consumers rely on it', () => {
      const findings = compareEdit((s) => (s.required = ['id', 'userIds', 'detail']));
      expect(summary(findings)).to.deep.equal(['BREAKING field-made-optional $.status']);
    });
  });

  describe('enum', () => {
    it('breaks when a value is removed', () => {
      const findings = compareEdit((s) => (s.properties.status!.enum = ['open']));
      expect(summary(findings)).to.deep.equal(['BREAKING enum-narrowed $.status']);
      expect(findings[0]!.message).to.equal(
        'enum value "closed" removed: events carrying it no longer validate',
      );
    });

    it('breaks when a free field gets an enum', () => {
      expect(summary(compareEdit((s) => (s.properties.region!.enum = ['eu', 'us'])))).to.deep.equal(
        ['BREAKING enum-narrowed $.region'],
      );
    });

    it('passes when a value is added', () => {
      const findings = compareEdit((s) => (s.properties.status!.enum = ['open', 'closed', 'gone']));
      expect(summary(findings)).to.deep.equal(['ok enum-widened $.status']);
      expect(findings[0]!.message).to.equal('enum value "gone" added');
    });
  });

  describe('versions and types', () => {
    it('breaks when a version file is removed, naming the file', () => {
      const findings = compareSchemaSets([entry(base()), entry(base(2), 2)], [entry(base(2), 2)]);
      expect(summary(findings)).to.deep.equal(['BREAKING version-removed $']);
      expect(findings[0]).to.include({ type: TYPE, version: 1 });
      expect(findings[0]!.message).to.match(
        /version 1 was removed \(com\.jetbox\.test\.happened\.v1\.schema\.json\)/,
      );
    });

    it('breaks when a whole type is removed', () => {
      const findings = compareSchemaSets([entry(base())], []);
      expect(findings[0]!.message).to.match(/the whole type com\.jetbox\.test\.happened is gone/);
    });

    it('passes when a version or a type is added', () => {
      const other = 'com.jetbox.test.other';
      const findings = compareSchemaSets(
        [entry(base())],
        [entry(base()), entry(base(2), 2), entry({ type: 'object' }, 1, other)],
      );
      expect(summary(findings)).to.deep.equal(['ok version-added $', 'ok type-added $']);
      expect(findings.map((f) => `${f.type} v${f.version}`)).to.deep.equal([
        `${TYPE} v2`,
        `${other} v1`,
      ]);
    });

    it('still checks v1 when v2 is added: a breaking edit of v1 fails', () => {
      const v1 = structuredClone(base()) as Schema & { properties: Record<string, Schema> };
      delete v1.properties.region;
      const findings = compareSchemaSets([entry(base())], [entry(v1), entry(base(2), 2)]);
      expect(summary(findings)).to.deep.equal([
        'BREAKING field-removed $.region',
        'ok version-added $',
      ]);
    });
  });

  describe('$id', () => {
    it('breaks when the $id changes', () => {
      const findings = compareEdit((s) => (s.$id = `urn:jetbox:schema:${TYPE}:v9`));
      expect(summary(findings)).to.deep.equal(['BREAKING id-changed $']);
      expect(findings[0]!.message).to.match(/\$id changed from ".*:v1" to ".*:v9"/);
    });

    it('passes when the $id stays and only the title changes', () => {
      expect(compareEdit((s) => (s.title = 'Renamed'))).to.deep.equal([]);
    });
  });

  describe('nested objects and array items', () => {
    it('breaks on changes inside a nested object', () => {
      const detail = (s: Schema & { properties: Record<string, Schema> }) =>
        s.properties.detail as { properties: Record<string, Schema> };
      expect(summary(compareEdit((s) => (detail(s).properties.code!.enum = ['a'])))).to.deep.equal([
        'BREAKING enum-narrowed $.detail.code',
      ]);
      expect(summary(compareEdit((s) => delete detail(s).properties.note))).to.deep.equal([
        'BREAKING field-removed $.detail.note',
      ]);
      expect(
        summary(compareEdit((s) => (detail(s).properties.extra = { type: 'number' }))),
      ).to.deep.equal(['ok field-added $.detail.extra']);
    });

    it('breaks on changes to array items, and to objects inside them', () => {
      expect(
        summary(compareEdit((s) => (s.properties.userIds!.items = { type: 'integer' }))),
      ).to.deep.equal(['BREAKING type-changed $.userIds[*]']);
      const tagItems = (s: Schema & { properties: Record<string, Schema> }) =>
        s.properties.tags!.items as { required: string[]; properties: Record<string, Schema> };
      expect(
        summary(
          compareEdit((s) => {
            tagItems(s).properties.value = { type: 'string' };
            tagItems(s).required.push('value');
          }),
        ),
      ).to.deep.equal(['BREAKING required-without-default $.tags[*].value']);
      expect(
        summary(compareEdit((s) => (tagItems(s).properties.value = { type: 'string' }))),
      ).to.deep.equal(['ok field-added $.tags[*].value']);
    });
  });

  describe('other constraints', () => {
    it('breaks when a bound tightens or a format appears, passes when they loosen', () => {
      expect(summary(compareEdit((s) => (s.properties.region!.maxLength = 8)))).to.deep.equal([
        'BREAKING constraint-narrowed $.region',
      ]);
      expect(summary(compareEdit((s) => (s.properties.region!.minLength = 2)))).to.deep.equal([
        'BREAKING constraint-narrowed $.region',
      ]);
      expect(summary(compareEdit((s) => (s.properties.region!.format = 'email')))).to.deep.equal([
        'BREAKING constraint-narrowed $.region',
      ]);
      expect(summary(compareEdit((s) => delete s.properties.id!.format))).to.deep.equal([
        'ok constraint-widened $.id',
      ]);
    });

    it('breaks when unknown fields stop being accepted', () => {
      expect(summary(compareEdit((s) => (s.additionalProperties = false)))).to.deep.equal([
        'BREAKING constraint-narrowed $',
      ]);
    });

    it('counts a change it cannot judge (anyOf, $ref) as breaking', () => {
      const findings = compareEdit((s) => (s.properties.region!.anyOf = [{ minLength: 1 }]));
      expect(summary(findings)).to.deep.equal(['BREAKING unsupported-change $.region']);
      expect(findings[0]!.message).to.match(/"anyOf" changed/);
    });
  });

  it('finds the real schemas compatible with themselves', async () => {
    const events = await readSchemaDir(join(import.meta.dirname, '..', 'events'));
    expect(events.map((e) => `${e.type} v${e.version}`)).to.include(
      'com.jetbox.match.cancelled v2',
    );
    expect(compareSchemaSets(events, events)).to.deep.equal([]);
  });

  it('prints type, version, path and message, and what to do about a breaking change', () => {
    const text = formatFindings(
      compareEdit((s) => delete s.properties.region),
      'a test baseline',
    );
    expect(text).to.include('comparing events/ with a test baseline');
    expect(text).to.include(
      `BREAKING   ${TYPE} v1 $.region: field "region" was removed: consumers reading it would get undefined [field-removed]`,
    );
    expect(text).to.match(/FAILED: 1 breaking change\./);
    expect(text).to.include(`${TYPE}.v<next>.schema.json`);
    expect(formatFindings([], 'x')).to.match(/OK: no changes\./);
  });
});

describe('schemas:compat command line', () => {
  it('parses each baseline source and defaults to the registry', () => {
    expect(parseCompatArgs([]).source).to.deep.equal({ kind: 'registry' });
    expect(parseCompatArgs(['--registry', 'http://127.0.0.1:4873/']).source).to.deep.equal({
      kind: 'registry',
      registry: 'http://127.0.0.1:4873/',
    });
    expect(parseCompatArgs(['--ref', 'schemas-v0.1.0']).source).to.deep.equal({
      kind: 'git',
      ref: 'schemas-v0.1.0',
    });
    expect(parseCompatArgs(['--tarball', 'x.tgz']).source).to.deep.equal({
      kind: 'tarball',
      path: 'x.tgz',
    });
    expect(parseCompatArgs(['--against', 'dir']).source).to.deep.equal({
      kind: 'folder',
      dir: 'dir',
    });
  });

  it('rejects bad command lines with a usage error that says what is wrong', () => {
    const usage = (argv: string[]) => {
      try {
        parseCompatArgs(argv);
      } catch (err) {
        expect(err).to.be.instanceOf(CompatError).with.property('usage', true);
        return (err as Error).message;
      }
      throw new Error(`no usage error for ${argv.join(' ')}`);
    };
    expect(usage(['--nope'])).to.match(/Unknown option '--nope'/);
    expect(usage(['--ref'])).to.match(/--ref/);
    expect(usage(['--ref', 'HEAD', '--against', 'x'])).to.equal(
      'use one of --registry, --ref, --tarball, --against; got --ref and --against',
    );
    expect(usage(['--registry', 'localhost:4873'])).to.match(/--registry must be an http\(s\) URL/);
    expect(usage(['stray'])).to.match(/stray/);
  });
});

describe('schemas:compat baselines and exit codes', function () {
  this.timeout(60_000);
  const run = promisify(execFile);
  const pkgDir = join(import.meta.dirname, '..');
  let tmp: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'jetbox-compat-test-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** Runs the real CLI as `npm run schemas:compat` would, returning its exit code and output. */
  async function cli(...args: string[]): Promise<{ code: number; out: string }> {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        ['--import', 'tsx', 'scripts/compat.ts', ...args],
        {
          cwd: pkgDir,
        },
      );
      return { code: 0, out: stdout + stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  }

  /** A copy of the real events/ with one schema edited: the "published" side of the check. */
  async function baselineWith(
    name: string,
    schemaFile: string,
    edit: (schema: Schema) => void,
  ): Promise<string> {
    const dir = join(tmp, name, 'events');
    await mkdir(dir, { recursive: true });
    await cp(join(pkgDir, 'events'), dir, { recursive: true });
    const file = join(dir, schemaFile);
    const schema = JSON.parse(await readFile(file, 'utf8')) as Schema;
    edit(schema);
    await writeFile(file, JSON.stringify(schema, null, 2));
    return join(tmp, name);
  }

  it('exits 1 naming the field when the working schemas break the baseline', async () => {
    // The baseline had a field the working schema lacks: to the check, a removal.
    const dir = await baselineWith('breaking', 'com.jetbox.match.created.v1.schema.json', (s) => {
      (s.properties as Record<string, Schema>).venue = { type: 'string' };
    });
    const { code, out } = await cli('--against', dir);
    expect(out).to.include(
      'BREAKING   com.jetbox.match.created v1 $.venue: field "venue" was removed',
    );
    expect(out).to.include('FAILED: 1 breaking change.');
    expect(code).to.equal(1);
  });

  it('exits 0 when the working schemas only add to the baseline', async () => {
    // The baseline lacks an optional field the working schema has: an addition.
    const dir = await baselineWith('additive', 'com.jetbox.match.cancelled.v2.schema.json', (s) => {
      const reason = (s.properties as Record<string, { properties: Record<string, Schema> }>)
        .reason!;
      delete reason.properties.note;
    });
    const { code, out } = await cli('--against', join(dir, 'events'));
    expect(out).to.include(
      'compatible com.jetbox.match.cancelled v2 $.reason.note: new optional field "note"',
    );
    expect(out).to.match(/OK: 1 compatible change/);
    expect(code).to.equal(0);
  });

  it('reads a tarball, and exits 2 with a clear message when it cannot compare', async () => {
    const dir = await baselineWith(
      'tarball/package',
      'com.jetbox.match.created.v1.schema.json',
      (s) => (s.$id = 'urn:jetbox:schema:x:v1'),
    );
    const tarball = join(tmp, 'baseline.tgz');
    await run('tar', ['-czf', tarball, '-C', join(dir, '..'), 'package']);
    const fromTarball = await cli('--tarball', tarball);
    expect(fromTarball.out).to.include('[id-changed]');
    expect(fromTarball.code).to.equal(1);

    const missing = await cli('--against', join(tmp, 'does-not-exist'));
    expect(missing.out).to.match(/does-not-exist is not a folder/);
    expect(missing.code).to.equal(2);
    const bad = await cli('--frobnicate');
    expect(bad.out).to.match(/Unknown option '--frobnicate'[\s\S]*usage: npm run schemas:compat/);
    expect(bad.code).to.equal(2);
  });

  it('reads a git ref, by default the highest schemas-v* tag, else HEAD', async () => {
    const repo = join(tmp, 'repo');
    const pkg = join(repo, 'schemas');
    await mkdir(join(pkg, 'events'), { recursive: true });
    const git = (...args: string[]) =>
      run('git', ['-c', 'user.name=jetbox test', '-c', 'user.email=test@jetbox.invalid', ...args], {
        cwd: repo,
      });
    const file = join(pkg, 'events', `${TYPE}.v1.schema.json`);
    await git('init', '--quiet');
    await writeFile(file, JSON.stringify(base()));
    await git('add', '.');
    await git('commit', '--quiet', '-m', 'v1');

    const atHead = await readGitBaseline(pkg);
    expect(atHead.description).to.equal('git HEAD (no schemas-v* tag)');
    expect(atHead.schemas.map((s) => s.file)).to.deep.equal([`${TYPE}.v1.schema.json`]);

    await git('tag', 'schemas-v0.9.0');
    const edited = structuredClone(base()) as Schema & { properties: Record<string, Schema> };
    delete edited.properties.region;
    await writeFile(file, JSON.stringify(edited));
    await git('commit', '--quiet', '-am', 'drop region');
    await git('tag', 'schemas-v0.10.0');

    const tagged = await readGitBaseline(pkg);
    expect(tagged.description).to.equal('git schemas-v0.10.0 (latest release tag)');
    expect(summary(compareSchemaSets(tagged.schemas, [entry(base())]))).to.deep.equal([
      'ok field-added $.region',
    ]);
    const older = await readGitBaseline(pkg, 'schemas-v0.9.0');
    expect(compareSchemaSets(older.schemas, [entry(base())])).to.deep.equal([]);
    await readGitBaseline(pkg, 'no-such-ref').then(
      () => expect.fail('an unknown ref must fail'),
      (err: Error) => expect(err.message).to.match(/git ref "no-such-ref" not found/),
    );
  });
});
