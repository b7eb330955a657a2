import { isRecord, type KubeObject } from './renderKustomization.js';

/** One container (or Compose service) and the environment it is given. */
export interface ContainerEnv {
  /** e.g. `Deployment/match-service container match-service`. */
  where: string;
  image: string;
  /** Variables given a value. */
  set: Set<string>;
  /** The literal values among them (from `env`, ConfigMaps, Compose); Secrets have none here. */
  values: Map<string, string>;
  /** Variables deliberately left at the program's default (see {@link DEFAULTED_ANNOTATION}). */
  defaulted: Set<string>;
  /** Secret keys referenced, never values. */
  secretRefs: { name: string; key: string }[];
  /** Things that make the set of variables unknowable (e.g. a missing ConfigMap). */
  problems: string[];
}

/**
 * Pod-template annotation prefix listing, per container, the variables its program reads that
 * are left at their defaults on purpose: `jetbox.dev/defaulted-env.<container>: A,B`.
 */
export const DEFAULTED_ANNOTATION = 'jetbox.dev/defaulted-env.';
/** Compose service extension with the same meaning. */
export const COMPOSE_DEFAULTED = 'x-jetbox-defaulted';

/** Every container of every Deployment and Job, with the environment it gets. */
export function kubeContainerEnvs(objects: KubeObject[]): ContainerEnv[] {
  const configMaps = new Map(
    objects
      .filter((o) => o.kind === 'ConfigMap')
      .map((o) => [o.metadata.name, Object.entries(isRecord(o.data) ? o.data : {})] as const),
  );
  const out: ContainerEnv[] = [];
  for (const o of objects) {
    if (o.kind !== 'Deployment' && o.kind !== 'Job') continue;
    const template = get(o, ['spec', 'template']);
    const annotations = get(template, ['metadata', 'annotations']);
    const containers = [
      ...asArray(get(template, ['spec', 'initContainers'])),
      ...asArray(get(template, ['spec', 'containers'])),
    ];
    for (const c of containers) {
      if (!isRecord(c)) continue;
      const name = String(c.name);
      const entry: ContainerEnv = {
        where: `${o.kind}/${o.metadata.name} container ${name}`,
        image: String(c.image),
        set: new Set(),
        values: new Map(),
        defaulted: new Set(),
        secretRefs: [],
        problems: [],
      };
      const listed = isRecord(annotations)
        ? annotations[`${DEFAULTED_ANNOTATION}${name}`]
        : undefined;
      if (typeof listed === 'string') {
        listed
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .forEach((n) => entry.defaulted.add(n));
      }
      for (const from of asArray(c.envFrom)) {
        const cm = get(from, ['configMapRef', 'name']);
        if (typeof cm === 'string') {
          const data = configMaps.get(cm);
          if (data) {
            for (const [k, v] of data) {
              entry.set.add(k);
              entry.values.set(k, String(v));
            }
          } else
            entry.problems.push(`envFrom names ConfigMap ${cm}, which is not among the manifests`);
        } else {
          // A whole Secret's keys cannot be known from the repository: name each key instead.
          entry.problems.push(
            'envFrom other than a configMapRef: use env with secretKeyRef per key',
          );
        }
      }
      // `env` overrides `envFrom`, as in Kubernetes.
      for (const e of asArray(c.env)) {
        if (!isRecord(e)) continue;
        entry.set.add(String(e.name));
        if (typeof e.value === 'string') entry.values.set(String(e.name), e.value);
        else entry.values.delete(String(e.name));
        const ref = get(e, ['valueFrom', 'secretKeyRef']);
        if (isRecord(ref)) entry.secretRefs.push({ name: String(ref.name), key: String(ref.key) });
      }
      out.push(entry);
    }
  }
  return out;
}

/** Every Compose service built from a jetbox image, with the environment it gets. */
export function composeContainerEnvs(compose: unknown): ContainerEnv[] {
  const services = get(compose, ['services']);
  if (!isRecord(services)) return [];
  const out: ContainerEnv[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (!isRecord(service) || typeof service.image !== 'string') continue;
    const entry: ContainerEnv = {
      where: `compose service ${name}`,
      image: service.image,
      set: new Set(),
      values: new Map(),
      defaulted: new Set(asArray(service[COMPOSE_DEFAULTED]).map(String)),
      secretRefs: [],
      problems: [],
    };
    const environment = service.environment;
    if (Array.isArray(environment)) {
      for (const e of environment.map(String)) {
        const [name, ...value] = e.split('=');
        entry.set.add(name!);
        if (value.length > 0) entry.values.set(name!, value.join('='));
      }
    } else if (isRecord(environment)) {
      for (const [k, v] of Object.entries(environment)) {
        entry.set.add(k);
        // Compose allows strings, numbers and booleans; null means "from the host".
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
          entry.values.set(k, String(v));
      }
    }
    if (service.env_file !== undefined)
      entry.problems.push('env_file hides which variables are set');
    out.push(entry);
  }
  return out;
}

/**
 * What is wrong with a container's environment for a program reading `reads`: a variable read
 * but neither set nor listed as defaulted, set but never read (a typo, or a setting the program
 * ignores), listed as defaulted but not read, or both set and defaulted.
 */
export function envCoverageProblems(container: ContainerEnv, reads: Set<string>): string[] {
  const problems = container.problems.map((p) => `${container.where}: ${p}`);
  for (const name of [...reads].sort()) {
    if (!container.set.has(name) && !container.defaulted.has(name)) {
      problems.push(
        `${container.where}: reads ${name}, which is neither set nor listed as defaulted`,
      );
    }
  }
  for (const name of [...container.set].sort()) {
    if (!reads.has(name))
      problems.push(`${container.where}: sets ${name}, which its program never reads`);
    if (container.defaulted.has(name))
      problems.push(`${container.where}: ${name} is both set and listed as defaulted`);
  }
  for (const name of [...container.defaulted].sort()) {
    if (!reads.has(name))
      problems.push(
        `${container.where}: lists ${name} as defaulted, but its program never reads it`,
      );
  }
  return problems;
}

/** `obj[path[0]][path[1]]…`, undefined where the path breaks. */
export function get(obj: unknown, path: string[]): unknown {
  let node = obj;
  for (const key of path) {
    if (!isRecord(node)) return undefined;
    node = node[key];
  }
  return node;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
