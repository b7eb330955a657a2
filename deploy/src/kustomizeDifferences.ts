import { spawnSync } from 'node:child_process';
import fastJsonPatch from 'fast-json-patch';
import { parseYamlDocuments } from './loadYamlDocuments.js';
import { renderKustomization, type KubeObject } from './renderKustomization.js';

/**
 * How `renderKustomization(dir)` differs from `kubectl kustomize <dir>`: one line per object
 * only one of them renders and per JSON-patch operation that turns kustomize's object into
 * ours. Empty when they agree. Throws when kubectl is missing or fails.
 */
export function kustomizeDifferences(dir: string, kubectl = 'kubectl'): string[] {
  const built = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (built.error) throw new Error(`${kubectl} kustomize ${dir}: ${built.error.message}`);
  if (built.status !== 0) {
    throw new Error(`${kubectl} kustomize ${dir} exited ${built.status}: ${built.stderr.trim()}`);
  }
  const theirs = byId(parseYamlDocuments(built.stdout, `${kubectl} kustomize`) as KubeObject[]);
  const ours = byId(renderKustomization(dir));
  const differences: string[] = [];
  for (const id of new Set([...theirs.keys(), ...ours.keys()])) {
    const a = theirs.get(id);
    const b = ours.get(id);
    if (!a) differences.push(`${id}: only deploy's renderer has it`);
    else if (!b) differences.push(`${id}: only kustomize has it`);
    else {
      for (const op of fastJsonPatch.compare(a, b)) {
        differences.push(
          `${id}: ${op.op} ${op.path}${'value' in op ? ` ${JSON.stringify(op.value)}` : ''}`,
        );
      }
    }
  }
  return differences;
}

function byId(objects: KubeObject[]): Map<string, KubeObject> {
  return new Map(
    objects.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]),
  );
}
