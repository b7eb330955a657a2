import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The workspace's TypeScript compiler, so consumers are checked with the version we build with. */
export const TSC = join(
  dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
  'bin',
  'tsc',
);

/** The consumer fixture: `good.ts` must compile, `bad.ts` must fail exactly as annotated. */
export const CONSUMER_FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'consumer');

export interface TscDiagnostic {
  file: string;
  line: number;
  code: string;
  /** The message with its elaboration lines, joined by newlines. */
  message: string;
}

export interface ExpectedError {
  file: string;
  line: number;
  code: string;
  text: string;
}

/** Runs `tsc -p <dir>` and parses its diagnostics. */
export function runTsc(
  projectDir: string,
): Promise<{ exitCode: number; diagnostics: TscDiagnostic[]; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [TSC, '-p', projectDir, '--pretty', 'false'],
      { cwd: projectDir, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new Error(`cannot run tsc: ${err.message}`, { cause: err }));
          return;
        }
        const output = stdout + stderr;
        resolve({
          exitCode: err ? Number(err.code) : 0,
          diagnostics: parseDiagnostics(output),
          output,
        });
      },
    );
  });
}

export function parseDiagnostics(output: string): TscDiagnostic[] {
  const diagnostics: TscDiagnostic[] = [];
  for (const line of output.split('\n')) {
    const m = /^(?<file>.+?)\((?<line>\d+),\d+\): error (?<code>TS\d+): (?<message>.*)$/.exec(line);
    if (m?.groups) {
      diagnostics.push({
        file: m.groups.file!,
        line: Number(m.groups.line),
        code: m.groups.code!,
        message: m.groups.message!,
      });
    } else if (/^\s/.test(line) && diagnostics.length > 0) {
      diagnostics[diagnostics.length - 1]!.message += `\n${line.trim()}`;
    }
  }
  return diagnostics;
}

/** `// expect-error TS2322: text` expects that error on the next line. */
export async function readExpectedErrors(dir: string, file: string): Promise<ExpectedError[]> {
  const lines = (await readFile(join(dir, file), 'utf8')).split('\n');
  const expected: ExpectedError[] = [];
  lines.forEach((line, i) => {
    const m = /^\s*\/\/ expect-error (?<code>TS\d+): (?<text>.+)$/.exec(line);
    if (m?.groups) expected.push({ file, line: i + 2, code: m.groups.code!, text: m.groups.text! });
  });
  return expected;
}

/**
 * Every expected error must be reported on its line with its code and text, and nothing else
 * may be reported: returns one sentence per problem, so a failing test says what went wrong.
 */
export function compareDiagnostics(
  diagnostics: readonly TscDiagnostic[],
  expected: readonly ExpectedError[],
): string[] {
  const problems: string[] = [];
  const matched = new Set<TscDiagnostic>();
  for (const e of expected) {
    const hit = diagnostics.find(
      (d) =>
        d.file === e.file && d.line === e.line && d.code === e.code && d.message.includes(e.text),
    );
    if (hit) matched.add(hit);
    else problems.push(`${e.file}:${e.line}: expected ${e.code} "${e.text}", got none`);
  }
  for (const d of diagnostics) {
    if (!matched.has(d)) problems.push(`${d.file}:${d.line}: unexpected ${d.code} ${d.message}`);
  }
  return problems;
}
