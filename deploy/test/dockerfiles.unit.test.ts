import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  finalStage,
  instructionsOf,
  parseDockerfile,
  type Dockerfile,
} from '../src/parseDockerfile.js';
import { REPO_ROOT } from '../src/paths.js';
import { PROGRAMS, programDefaultPort } from '../src/programs.js';
import { readDockerignore } from '../src/readDockerignore.js';

const rootPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

/** What is wrong with a jetbox Dockerfile's shape for `pkg`. */
function recipeProblems(dockerfile: Dockerfile, pkg: string): string[] {
  const problems: string[] = [];
  if (dockerfile.stages.length < 3) problems.push('expected prune, build and runtime stages');
  const runs = dockerfile.stages.flatMap((s) => instructionsOf(s, 'RUN').map((i) => i.args));
  const turbo = rootPackage.devDependencies.turbo;
  if (!runs.some((r) => r.startsWith(`npx --yes turbo@${turbo} prune ${pkg} --docker`))) {
    problems.push(
      `no "turbo@${turbo} prune ${pkg} --docker" (turbo must match the workspace's pin)`,
    );
  }
  if (!runs.some((r) => r.startsWith('npm ci'))) problems.push('no npm ci on the pruned lockfile');
  if (!runs.some((r) => r.includes('npm prune --omit=dev')))
    problems.push('development dependencies are not pruned');
  const runtime = finalStage(dockerfile);
  const user = instructionsOf(runtime, 'USER').at(-1)?.args;
  if (!user || user === 'root' || user === '0') problems.push('the runtime stage runs as root');
  if (instructionsOf(runtime, 'HEALTHCHECK').length !== 1)
    problems.push('the runtime stage has no HEALTHCHECK');
  if (instructionsOf(runtime, 'RUN').length > 0)
    problems.push('the runtime stage runs commands (it should only copy)');
  if (!instructionsOf(runtime, 'ENV').some((e) => e.args === 'NODE_ENV=production'))
    problems.push('NODE_ENV=production is not set');
  return problems;
}

describe('Dockerfiles', () => {
  for (const p of PROGRAMS) {
    describe(p.name, () => {
      const dockerfile = parseDockerfile(p.dockerfile);

      it('is a multi-stage turbo-prune recipe with production dependencies only, non-root, with a HEALTHCHECK', () => {
        expect(recipeProblems(dockerfile, p.package)).to.deep.equal([]);
      });

      it('exposes and health-checks the port the code listens on, and starts the built entry point', function () {
        const runtime = finalStage(dockerfile);
        if (!p.portConstantFile) {
          // The CLI image: jetbox's bin as entrypoint; the relay by default.
          expect(instructionsOf(runtime, 'ENTRYPOINT')[0]?.exec).to.deep.equal([
            'node',
            '/app/node_modules/@jetbox/events/bin/jetbox.js',
          ]);
          expect(instructionsOf(runtime, 'CMD')[0]?.exec).to.deep.equal(['relay']);
          return;
        }
        const port = String(programDefaultPort(p));
        expect(instructionsOf(runtime, 'EXPOSE').map((i) => i.args)).to.deep.equal([port]);
        expect(instructionsOf(runtime, 'HEALTHCHECK')[0]?.exec).to.deep.equal([
          'node',
          '/app/healthcheck.mjs',
          '/healthz',
          port,
        ]);
        const pkg = JSON.parse(
          readFileSync(join(REPO_ROOT, 'packages', p.name, 'package.json'), 'utf8'),
        ) as { main: string; scripts: { start: string } };
        const main = pkg.main.replace(/^\.\//, '');
        expect(pkg.scripts.start).to.equal(`node ${main}`);
        expect(instructionsOf(runtime, 'CMD')[0]?.exec).to.deep.equal([
          'node',
          `/app/packages/${p.name}/${main}`,
        ]);
      });
    });
  }

  it('fails a recipe that installs development dependencies or runs as root', () => {
    const text = readFileSync(PROGRAMS[0]!.dockerfile, 'utf8')
      .replace(/.*npm prune --omit=dev.*\n/, '')
      .replace('USER node', 'USER root');
    expect(
      recipeProblems(parseDockerfile('broken.Dockerfile', text), PROGRAMS[0]!.package),
    ).to.deep.equal(['development dependencies are not pruned', 'the runtime stage runs as root']);
  });

  it('.dockerignore keeps host builds and installs out of the context', () => {
    const ignored = readDockerignore(REPO_ROOT);
    for (const path of [
      'node_modules/x',
      'packages/events/node_modules/y',
      'packages/events/dist/index.js',
      '.git',
      'schemas/tsconfig.tsbuildinfo',
    ]) {
      expect(ignored(path), path).to.equal(true);
    }
    for (const path of [
      'package.json',
      'packages/events/src/index.ts',
      'deploy/docker/healthcheck.mjs',
      'tsconfig.base.json',
    ]) {
      expect(ignored(path), path).to.equal(false);
    }
  });
});
