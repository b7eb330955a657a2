// The cross-reference checks, as functions returning problems, so each test can run them on
// the real files (expecting none) and on a broken copy (expecting the problem).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asArray, get, type ContainerEnv } from '../src/containerEnv.js';
import { REPO_ROOT } from '../src/paths.js';
import { isRecord, type KubeObject } from '../src/renderKustomization.js';

/** The trigger metadata KEDA's nats-jetstream scaler documents; anything else is a typo. */
export const NATS_JETSTREAM_TRIGGER_KEYS = [
  'natsServerMonitoringEndpoint',
  'account',
  'stream',
  'consumer',
  'lagThreshold',
  'activationLagThreshold',
  'useHttps',
];

export function find(objects: KubeObject[], kind: string, name: string): KubeObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

export function configValue(
  objects: KubeObject[],
  configMap: string,
  key: string,
): string | undefined {
  const data = find(objects, 'ConfigMap', configMap)?.data;
  return isRecord(data) && typeof data[key] === 'string' ? data[key] : undefined;
}

/** The notifier ScaledObject against the manifests, the code's stream and the NATS values. */
export function kedaProblems(
  objects: KubeObject[],
  expected: { stream: string; consumer: string | undefined; monitorPort: number },
): string[] {
  const problems: string[] = [];
  const scaled = find(objects, 'ScaledObject', 'notifier');
  if (!scaled) return ['no ScaledObject notifier'];
  const spec = scaled.spec as Record<string, unknown>;
  const target = find(objects, 'Deployment', String(get(spec, ['scaleTargetRef', 'name'])));
  if (!target) problems.push('scaleTargetRef names no Deployment');
  else if (get(target, ['spec', 'replicas']) !== undefined) {
    problems.push(
      `Deployment/${target.metadata.name} sets spec.replicas, which fights KEDA on every apply`,
    );
  }
  const min = Number(spec.minReplicaCount ?? 0);
  const max = Number(spec.maxReplicaCount ?? 100);
  if (!(min >= 0 && max >= 1 && min <= max)) problems.push(`replica bounds ${min}..${max}`);
  const triggers = asArray(spec.triggers);
  if (triggers.length !== 1 || get(triggers[0], ['type']) !== 'nats-jetstream') {
    return [...problems, 'expected exactly one nats-jetstream trigger'];
  }
  const metadata = get(triggers[0], ['metadata']) as Record<string, unknown>;
  for (const key of Object.keys(metadata)) {
    if (!NATS_JETSTREAM_TRIGGER_KEYS.includes(key))
      problems.push(`unknown trigger metadata ${key}`);
  }
  for (const key of [
    'natsServerMonitoringEndpoint',
    'account',
    'stream',
    'consumer',
    'lagThreshold',
    'activationLagThreshold',
  ]) {
    if (typeof metadata[key] !== 'string' || metadata[key] === '')
      problems.push(`trigger metadata ${key} missing`);
  }
  if (metadata.stream !== expected.stream)
    problems.push(
      `trigger stream ${String(metadata.stream)}, the code's stream is ${expected.stream}`,
    );
  const configured = configValue(objects, 'notifier', 'NOTIFIER_CONSUMER') ?? expected.consumer;
  if (metadata.consumer !== configured)
    problems.push(
      `trigger consumer ${String(metadata.consumer)}, notifier consumes as ${configured}`,
    );
  if (expected.consumer !== undefined && configured !== expected.consumer) {
    problems.push(
      `notifier ConfigMap names consumer ${configured}, the code's default is ${expected.consumer}`,
    );
  }
  for (const key of ['lagThreshold', 'activationLagThreshold']) {
    if (!/^[0-9]+$/.test(String(metadata[key])))
      problems.push(`${key} must be a whole number, got ${String(metadata[key])}`);
  }
  const namespace = scaled.metadata.namespace;
  const endpoint = `nats-headless.${namespace}.svc.cluster.local:${expected.monitorPort}`;
  if (metadata.natsServerMonitoringEndpoint !== endpoint) {
    problems.push(
      `natsServerMonitoringEndpoint ${String(metadata.natsServerMonitoringEndpoint)}, expected ${endpoint}`,
    );
  }
  return problems;
}

/** Deployment ports and probes against the code's port and routes. */
export function probeProblems(deployment: KubeObject, port: number, served: Set<string>): string[] {
  const problems: string[] = [];
  const [container] = asArray(get(deployment, ['spec', 'template', 'spec', 'containers']));
  const ports = asArray(get(container, ['ports']));
  const http = ports.find((p) => get(p, ['name']) === 'http');
  if (get(http, ['containerPort']) !== port)
    problems.push(
      `containerPort http is ${String(get(http, ['containerPort']))}, the code listens on ${port}`,
    );
  const want: Record<string, string> = {
    livenessProbe: '/healthz',
    readinessProbe: '/readyz',
    startupProbe: '/healthz',
  };
  for (const [probe, path] of Object.entries(want)) {
    const action = get(container, [probe, 'httpGet']);
    if (!isRecord(action)) {
      problems.push(`${probe} is not an httpGet probe`);
      continue;
    }
    if (action.path !== path)
      problems.push(`${probe} path ${String(action.path)}, expected ${path}`);
    if (!served.has(String(action.path)))
      problems.push(`${probe} path ${String(action.path)} is not served by the code`);
    if (action.port !== 'http' && action.port !== port)
      problems.push(`${probe} port ${String(action.port)} is not the service port`);
  }
  return problems;
}

/** Services and PodDisruptionBudgets select existing pods; a Service's targetPort is a named container port. */
export function selectorProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const pods = objects
    .filter((o) => o.kind === 'Deployment')
    .map((d) => ({
      labels: (get(d, ['spec', 'template', 'metadata', 'labels']) ?? {}) as Record<string, string>,
      ports: asArray(get(d, ['spec', 'template', 'spec', 'containers'])).flatMap((c) =>
        asArray(get(c, ['ports'])),
      ),
      selector: (get(d, ['spec', 'selector', 'matchLabels']) ?? {}) as Record<string, string>,
      name: d.metadata.name,
    }));
  const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
  for (const d of pods) {
    if (!matches(d.selector, d.labels))
      problems.push(`Deployment/${d.name}: selector does not match its pod labels`);
  }
  for (const o of objects) {
    if (o.kind === 'Service') {
      const selected = pods.filter((p) =>
        matches((get(o, ['spec', 'selector']) ?? {}) as Record<string, string>, p.labels),
      );
      if (selected.length === 0) problems.push(`Service/${o.metadata.name} selects no pods`);
      for (const port of asArray(get(o, ['spec', 'ports']))) {
        const target = get(port, ['targetPort']);
        if (
          !selected.every((p) =>
            p.ports.some(
              (cp) => get(cp, ['name']) === target || get(cp, ['containerPort']) === target,
            ),
          )
        ) {
          problems.push(
            `Service/${o.metadata.name}: targetPort ${String(target)} is not a port of its pods`,
          );
        }
      }
    }
    if (o.kind === 'PodDisruptionBudget') {
      const selector = (get(o, ['spec', 'selector', 'matchLabels']) ?? {}) as Record<
        string,
        string
      >;
      if (!pods.some((p) => matches(selector, p.labels)))
        problems.push(`PodDisruptionBudget/${o.metadata.name} selects no pods`);
    }
  }
  return problems;
}

/** `| \`secret\` | \`key\` | …` rows under the "### Secrets" heading of deploy/README.md. */
export function documentedSecretKeys(readme: string): Set<string> {
  const section = readme.split(/^### Secrets$/m)[1]?.split(/^#{2,3} /m)[0] ?? '';
  const keys = new Set<string>();
  for (const m of section.matchAll(/^\| `([^`]+)` \| `([^`]+)` \|/gm)) keys.add(`${m[1]}/${m[2]}`);
  return keys;
}

export function secretProblems(containers: ContainerEnv[], documented: Set<string>): string[] {
  const problems: string[] = [];
  const used = new Set<string>();
  for (const c of containers) {
    for (const ref of c.secretRefs) {
      const id = `${ref.name}/${ref.key}`;
      used.add(id);
      if (!documented.has(id))
        problems.push(
          `${c.where}: Secret ${ref.name} key ${ref.key} is not listed in deploy/README.md`,
        );
    }
  }
  for (const id of documented)
    if (!used.has(id)) problems.push(`deploy/README.md lists Secret key ${id}, which nothing uses`);
  return problems;
}

/** The command words of a `jetbox` argument list: those before the first option. */
export function commandWords(argv: string[]): string[] {
  const first = argv.findIndex((a) => a.startsWith('-'));
  return first === -1 ? argv : argv.slice(0, first);
}

/**
 * Whether `jetbox <argv>` is a command of the built CLI with options it has: `--help` must
 * print that command's own usage line (commander prints the parent's for an unknown one) and
 * list every option `argv` uses.
 */
export function jetboxCommandProblem(argv: string[]): string | undefined {
  if (!existsSync(join(REPO_ROOT, 'packages', 'events', 'dist', 'cli', 'main.js')))
    return '@jetbox/events is not built';
  const words = commandWords(argv);
  const run = jetboxHelp(words);
  const usage = run.stdout.split('\n')[0] ?? '';
  if (run.status !== 0 || !usage.startsWith(`Usage: jetbox ${words.join(' ')} [options]`)) {
    return `jetbox ${words.join(' ')} is not a jetbox command (${usage || run.stderr.trim()})`;
  }
  const known = new Set(run.stdout.match(/--[a-z][a-z-]*/g));
  const unknown = argv.filter((a) => a.startsWith('--') && !known.has(a.split('=')[0]!));
  return unknown.length > 0
    ? `jetbox ${words.join(' ')} has no option ${unknown.join(', ')}`
    : undefined;
}

const helps = new Map<string, SpawnSyncReturns<string>>();

/** `jetbox <words> --help` of the built CLI; each command's is run once per test process. */
export function jetboxHelp(words: string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  const key = words.join(' ');
  let run = helps.get(key);
  if (!run) {
    const cli = join(REPO_ROOT, 'packages', 'events', 'bin', 'jetbox.js');
    run = spawnSync(process.execPath, [cli, ...words, '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    helps.set(key, run);
  }
  return run;
}

/** The argument lists of a shell line like `jetbox migrate && jetbox --database-url "…" migrate`. */
export function jetboxCommandsIn(line: string): string[][] {
  return line
    .split('&&')
    .map((part) => part.trim().match(/"[^"]*"|'[^']*'|\S+/g) ?? [])
    .filter((words) => words[0] === 'jetbox')
    .map((words) => {
      const out: string[] = [];
      // Global options (and their values) come before the command words.
      for (let i = 1; i < words.length; i++) {
        if (out.length === 0 && (words[i] === '--database-url' || words[i] === '--nats-url'))
          i += 1;
        else if (words[i] !== '--json') out.push(words[i]!.replace(/^(["'])(.*)\1$/, '$2'));
      }
      return out;
    });
}

/** What a `jetbox consumers apply` step must say to declare the consumer a service declares. */
export interface ExpectedConsumer {
  name: string;
  subjects: string[];
  /** The service's ack wait when its manifest sets one; undefined when it keeps the default. */
  ackWaitMs: string | undefined;
}

/**
 * A `consumers apply` argument list against the consumer the service declares at start. The
 * CLI and `createConsumer` share their defaults, so an option the service does not set must be
 * absent, and one it sets must be given the same value.
 */
export function consumerApplyProblems(argv: string[], expected: ExpectedConsumer): string[] {
  const options = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const a of argv.slice(commandWords(argv).length)) {
    if (a.startsWith('--')) options.set(a, (current = options.get(a) ?? []));
    else current?.push(a);
  }
  const problems: string[] = [];
  const name = options.get('--name')?.join(' ');
  if (name !== expected.name)
    problems.push(`--name ${String(name)}, the service consumes as ${expected.name}`);
  const subjects = options.get('--subject') ?? [];
  if (JSON.stringify(subjects) !== JSON.stringify(expected.subjects))
    problems.push(
      `--subject ${subjects.join(' ') || '(none)'}, the service filters ${expected.subjects.join(' ')}`,
    );
  const ackWait = options.get('--ack-wait')?.join(' ');
  if (ackWait !== expected.ackWaitMs)
    problems.push(
      `--ack-wait ${ackWait ?? '(default)'}, the service's ack wait is ${expected.ackWaitMs ?? 'the default'}`,
    );
  for (const option of options.keys()) {
    if (!['--name', '--subject', '--ack-wait'].includes(option))
      problems.push(`${option}: the service leaves it at the default`);
  }
  return problems;
}

/**
 * Every container that declares the streams (a service at start, `jetbox streams apply`) must
 * declare them with the same `JETBOX_STREAM_REPLICAS`, or each rollout changes the streams'
 * replicas back and forth. A defaulted variable counts as `codeDefault`.
 */
export function replicaProblems(
  declarers: ContainerEnv[],
  applier: ContainerEnv,
  codeDefault: string,
): string[] {
  const replicas = (c: ContainerEnv) =>
    c.values.get('JETBOX_STREAM_REPLICAS') ??
    (c.defaulted.has('JETBOX_STREAM_REPLICAS') ? codeDefault : '(not set)');
  const wanted = replicas(applier);
  return declarers
    .filter((c) => replicas(c) !== wanted)
    .map(
      (c) =>
        `${c.where}: declares the streams with JETBOX_STREAM_REPLICAS ${replicas(c)}, ${applier.where} with ${wanted}`,
    );
}

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}
