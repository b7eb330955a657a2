import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { loadYamlDocuments, parseYamlDocuments } from './loadYamlDocuments.js';

/** A Kubernetes object as rendered: plain data with the fields every object has. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * The kustomization fields this renderer implements. Anything else fails the render instead of
 * being skipped, so what it returns is what `kustomize build` returns for these files
 * (`npm run check:kustomize` compares the two where kubectl is installed).
 */
const SUPPORTED_FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'images',
  'patches',
]);
const SUPPORTED_PATCH_FIELDS = new Set(['target', 'patch', 'path']);
const SUPPORTED_TARGET_FIELDS = new Set(['group', 'version', 'kind', 'name']);
/** Kinds that have no namespace; the namespace transformer leaves them alone. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
]);

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

interface PatchRule {
  target: { group?: string; version?: string; kind?: string; name?: string };
  operations: Operation[];
}

/**
 * Renders a kustomization directory the way `kustomize build` does, for the subset jetbox
 * uses: `resources` (files, and directories holding a kustomization), `namespace`, `images`
 * (`newName`/`newTag`/`digest`) and `patches` given as JSON 6902 operations with a `target`
 * (applied with fast-json-patch, RFC 6902). Order: resources, then patches, then images, then
 * the namespace. Throws on anything else, on a patch whose target matches nothing, on a failing
 * operation and on two objects with the same kind, namespace and name.
 */
export function renderKustomization(dir: string): KubeObject[] {
  const file = join(dir, 'kustomization.yaml');
  const [spec, ...extra] = loadYamlDocuments(file);
  if (!isRecord(spec) || extra.length > 0) throw new Error(`${file}: expected one mapping`);
  for (const key of Object.keys(spec)) {
    if (!SUPPORTED_FIELDS.has(key))
      throw new Error(`${file}: field "${key}" is not supported by this renderer`);
  }
  if (spec.kind !== 'Kustomization') throw new Error(`${file}: kind must be Kustomization`);

  let objects: KubeObject[] = [];
  for (const entry of stringList(spec.resources, `${file}: resources`)) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new Error(`${file}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
    else objects.push(...loadYamlDocuments(path).map((o) => asKubeObject(o, path)));
  }

  for (const rule of patchRules(spec.patches, dir, file)) {
    const matched = objects.filter((o) => targets(rule.target, o));
    if (matched.length === 0) {
      throw new Error(`${file}: patch target ${JSON.stringify(rule.target)} matches no resource`);
    }
    objects = objects.map((o) => {
      if (!matched.includes(o)) return o;
      try {
        // validateOperation: a `replace` of a missing path fails, as it does in kustomize.
        const patched = fastJsonPatch.applyPatch(structuredClone(o), rule.operations, true, false);
        return asKubeObject(patched.newDocument, file);
      } catch (err) {
        throw new Error(
          `${file}: patch on ${o.kind}/${o.metadata.name}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    });
  }

  const images = imageRules(spec.images, file);
  if (images.length > 0) objects = objects.map((o) => withImages(o, images));

  if (spec.namespace !== undefined) {
    if (typeof spec.namespace !== 'string' || spec.namespace === '') {
      throw new Error(`${file}: namespace must be a non-empty string`);
    }
    const namespace = spec.namespace;
    objects = objects.map((o) =>
      CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace } },
    );
  }

  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(id)) throw new Error(`${file}: ${id} is declared twice`);
    seen.add(id);
  }
  return objects;
}

function patchRules(value: unknown, dir: string, file: string): PatchRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${file}: patches must be a list`);
  return value.map((entry, i) => {
    const where = `${file}: patches[${i}]`;
    if (!isRecord(entry)) throw new Error(`${where} must be a mapping`);
    for (const key of Object.keys(entry)) {
      if (!SUPPORTED_PATCH_FIELDS.has(key))
        throw new Error(`${where}: field "${key}" is not supported`);
    }
    if (!isRecord(entry.target)) {
      // Without a target kustomize reads the patch as a strategic merge patch, whose merge
      // rules (per-field list keys) this renderer does not implement.
      throw new Error(`${where}: needs a target (only JSON 6902 patches are supported)`);
    }
    for (const key of Object.keys(entry.target)) {
      if (!SUPPORTED_TARGET_FIELDS.has(key))
        throw new Error(`${where}: target.${key} is not supported`);
    }
    let operations: unknown;
    if (typeof entry.patch === 'string') [operations] = parseYamlDocuments(entry.patch, where);
    else if (typeof entry.path === 'string')
      [operations] = loadYamlDocuments(resolve(dir, entry.path));
    else throw new Error(`${where}: needs patch or path`);
    if (!Array.isArray(operations)) {
      throw new Error(`${where}: the patch must be a list of JSON 6902 operations`);
    }
    const checked = operations as Operation[];
    const problem = fastJsonPatch.validate(checked);
    if (problem) throw new Error(`${where}: ${problem.name}: ${problem.message}`);
    return { target: entry.target, operations: checked };
  });
}

function targets(target: PatchRule['target'], o: KubeObject): boolean {
  const [group, version] = o.apiVersion.includes('/')
    ? o.apiVersion.split('/')
    : ['', o.apiVersion];
  return (
    (target.group === undefined || target.group === group) &&
    (target.version === undefined || target.version === version) &&
    (target.kind === undefined || target.kind === o.kind) &&
    (target.name === undefined || target.name === o.metadata.name)
  );
}

function imageRules(value: unknown, file: string): ImageRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${file}: images must be a list`);
  return value.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== 'string') {
      throw new Error(`${file}: images[${i}] needs a name`);
    }
    for (const key of Object.keys(entry)) {
      if (!['name', 'newName', 'newTag', 'digest'].includes(key)) {
        throw new Error(`${file}: images[${i}].${key} is not supported`);
      }
    }
    return entry as unknown as ImageRule;
  });
}

/** Splits `repo/name:tag` or `repo/name@sha256:…` (a registry port's colon is not a tag). */
export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { name: image.slice(0, at), digest: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/'))
    return { name: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { name: image };
}

/** The images transformer: every `containers`/`initContainers` entry anywhere in the object. */
function withImages(o: KubeObject, rules: ImageRule[]): KubeObject {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return (node as unknown[]).map(walk);
    if (!isRecord(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
        out[key] = (value as unknown[]).map((c) =>
          isRecord(c) && typeof c.image === 'string' ? { ...c, image: retag(c.image, rules) } : c,
        );
      } else out[key] = walk(value);
    }
    return out;
  };
  return walk(o) as KubeObject;
}

function retag(image: string, rules: ImageRule[]): string {
  const current = splitImage(image);
  const rule = rules.find((r) => r.name === current.name);
  if (!rule) return image;
  const name = rule.newName ?? current.name;
  if (rule.digest) return `${name}@${rule.digest}`;
  const tag = rule.newTag ?? current.tag;
  return tag ? `${name}:${tag}` : current.digest ? `${name}@${current.digest}` : name;
}

function asKubeObject(value: unknown, source: string): KubeObject {
  if (
    !isRecord(value) ||
    typeof value.apiVersion !== 'string' ||
    typeof value.kind !== 'string' ||
    !isRecord(value.metadata) ||
    typeof value.metadata.name !== 'string'
  ) {
    throw new Error(`${source}: every document must have apiVersion, kind and metadata.name`);
  }
  return value as KubeObject;
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${what} must be a list of paths`);
  }
  return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
