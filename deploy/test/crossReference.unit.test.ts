import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  DEFAULT_CONSUMER_ACK_WAIT_MS,
  DEFAULT_RELAY_STREAM,
  DEFAULT_SUBJECT_PREFIX,
} from '@jetbox/events';
import { expect } from 'chai';
import {
  asArray,
  composeContainerEnvs,
  envCoverageProblems,
  get,
  kubeContainerEnvs,
  type ContainerEnv,
} from '../src/containerEnv.js';
import { consumerSubjectSuffixes } from '../src/consumerSubjects.js';
import { loadYamlDocuments } from '../src/loadYamlDocuments.js';
import { DEPLOY_DIR, K8S_DIR, REPO_ROOT } from '../src/paths.js';
import {
  ENV_HELPERS,
  PROGRAMS,
  programDefaultPort,
  programEnv,
  programOfImage,
  programServedPaths,
  type Program,
} from '../src/programs.js';
import { renderKustomization, type KubeObject } from '../src/renderKustomization.js';
import { envDefault, envDefaultSource, scanEnvReads } from '../src/scanEnvReads.js';
import {
  commandWords,
  configValue,
  consumerApplyProblems,
  documentedSecretKeys,
  find,
  jetboxCommandProblem,
  jetboxCommandsIn,
  jetboxHelp,
  kedaProblems,
  probeProblems,
  readRepoFile,
  replicaProblems,
  secretProblems,
  selectorProblems,
  type ExpectedConsumer,
} from './crossChecks.js';

const overlays: Record<string, KubeObject[]> = {
  base: renderKustomization(join(K8S_DIR, 'base')),
  production: renderKustomization(join(K8S_DIR, 'overlays/production')),
};
const [compose] = loadYamlDocuments(join(DEPLOY_DIR, 'compose.yaml'), { merge: true }) as [
  Record<string, any>,
];
const [natsValues] = loadYamlDocuments(join(K8S_DIR, 'nats-values.yaml')) as [Record<string, any>];
const program = (name: Program['name']) => PROGRAMS.find((p) => p.name === name)!;
const notifier = program('notifier');
const matchService = program('match-service');
const notifierConfig = join(REPO_ROOT, notifier.configFiles[0]!);

/** A variable's value in a container: set there, or the code's default where it is defaulted. */
function valueIn(c: ContainerEnv, name: string, codeDefault: string | undefined) {
  return c.values.get(name) ?? (c.defaulted.has(name) ? codeDefault : undefined);
}

/** The consumer notifier declares at start, given the environment its manifest gives it. */
function notifierConsumer(c: ContainerEnv): ExpectedConsumer {
  const prefix = valueIn(c, 'JETBOX_SUBJECT_PREFIX', DEFAULT_SUBJECT_PREFIX);
  const suffixes = consumerSubjectSuffixes(
    join(REPO_ROOT, notifier.packageDir, 'src/createNotifier.ts'),
  );
  return {
    name: String(valueIn(c, 'NOTIFIER_CONSUMER', envDefault(notifierConfig, 'NOTIFIER_CONSUMER'))),
    subjects: suffixes.map((s) => `${prefix}${s}`),
    ackWaitMs: c.values.get('NOTIFIER_ACK_WAIT_MS'),
  };
}

/** The code's default for JETBOX_STREAM_REPLICAS (service-kit's readJetboxEnv). */
function replicasDefault(): string {
  const value = envDefault(join(REPO_ROOT, ENV_HELPERS.readJetboxEnv!), 'JETBOX_STREAM_REPLICAS');
  if (value === undefined)
    throw new Error('readJetboxEnv has no literal JETBOX_STREAM_REPLICAS default');
  return value;
}

/** The programs that declare the streams at start (their main.ts calls applyServiceStreams). */
const streamDeclaringServices = PROGRAMS.filter((p) => {
  const main = join(REPO_ROOT, p.packageDir, 'src/main.ts');
  return existsSync(main) && scanEnvReads(main).calls.has('applyServiceStreams');
});

/** The containers that run a service which declares the streams at start. */
function streamDeclarers(containers: ContainerEnv[]): ContainerEnv[] {
  return containers.filter((c) =>
    streamDeclaringServices.some((p) => programOfImage(c.image) === p),
  );
}

describe('cross-references between the code and deploy/', () => {
  describe('environment: every variable a program reads is set or deliberately defaulted, and nothing else is set', () => {
    const setups: [string, ReturnType<typeof kubeContainerEnvs>][] = [
      ['k8s base', kubeContainerEnvs(overlays.base!)],
      ['k8s production', kubeContainerEnvs(overlays.production!)],
      ['compose', composeContainerEnvs(compose)],
    ];
    for (const [where, containers] of setups) {
      for (const p of PROGRAMS) {
        it(`${where}: ${p.name}`, function () {
          const mine = containers.filter((c) => programOfImage(c.image) === p);
          expect(mine, `no container runs ${p.image}`).to.not.be.empty;
          const reads = programEnv(p);
          // The scanner found the variables every program has, so it is reading the file at all.
          expect([...reads]).to.include.members(['DATABASE_URL', 'NATS_URL', 'JETBOX_STREAM']);
          expect(mine.flatMap((c) => envCoverageProblems(c, reads))).to.deep.equal([]);
        });
      }
    }

    it('every jetbox container runs a known program', () => {
      const all = [...kubeContainerEnvs(overlays.base!), ...composeContainerEnvs(compose)].filter(
        (c) => c.image.includes('jetbox/'),
      );
      expect(all.filter((c) => !programOfImage(c.image)).map((c) => c.where)).to.deep.equal([]);
    });

    it('fails when a program reads a new variable, or a manifest drops or misspells one', () => {
      // A copy of the repository's config files, with match-service reading one more variable.
      const root = mkdtempSync(join(tmpdir(), 'jetbox-env-'));
      try {
        for (const f of [...matchService.configFiles, ...Object.values(ENV_HELPERS)]) {
          cpSync(join(REPO_ROOT, f), join(root, f));
        }
        appendFileSync(
          join(root, matchService.configFiles[0]!),
          "\nexport const extra = (get: (n: string) => string) => get('JETBOX_NEW_SETTING');\n",
        );
        const [container] = composeContainerEnvs(compose).filter(
          (c) => programOfImage(c.image) === matchService,
        );
        expect(envCoverageProblems(container!, programEnv(matchService, root))).to.deep.equal([
          'compose service match-service: reads JETBOX_NEW_SETTING, which is neither set nor listed as defaulted',
        ]);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
      const reads = programEnv(matchService);
      const dropped = structuredClone(overlays.base!);
      delete (find(dropped, 'ConfigMap', 'match-service')!.data as Record<string, string>)
        .RELAY_IN_PROCESS;
      const misspelt = structuredClone(overlays.base!);
      (
        find(misspelt, 'ConfigMap', 'jetbox-shared')!.data as Record<string, string>
      ).JETBOX_PARTITION = '16';
      const problems = (objects: KubeObject[]) =>
        kubeContainerEnvs(objects)
          .filter((c) => c.where === 'Deployment/match-service container match-service')
          .flatMap((c) => envCoverageProblems(c, reads));
      expect(problems(dropped)).to.deep.equal([
        'Deployment/match-service container match-service: reads RELAY_IN_PROCESS, which is neither set nor listed as defaulted',
      ]);
      expect(problems(misspelt)).to.deep.equal([
        'Deployment/match-service container match-service: sets JETBOX_PARTITION, which its program never reads',
      ]);
    });
  });

  describe('ports and probes match the code', () => {
    for (const p of PROGRAMS.filter((x) => x.portConstantFile)) {
      for (const [overlay, objects] of Object.entries(overlays)) {
        it(`k8s ${overlay}: ${p.name}`, function () {
          const served = programServedPaths(p);
          const deployment = find(objects, 'Deployment', p.name)!;
          expect(probeProblems(deployment, programDefaultPort(p)!, served)).to.deep.equal([]);
        });
      }
      it(`compose: ${p.name}`, function () {
        const port = programDefaultPort(p)!;
        const service = compose.services[p.name];
        expect(service.ports).to.deep.equal([`127.0.0.1:${port}:${port}`]);
        expect(service.healthcheck.test).to.deep.equal([
          'CMD',
          'node',
          '/app/healthcheck.mjs',
          '/readyz',
          String(port),
        ]);
        expect(programServedPaths(p)).to.include('/readyz');
      });
    }

    for (const [overlay, objects] of Object.entries(overlays)) {
      it(`k8s ${overlay}: Services and PodDisruptionBudgets select pods and name their ports`, () => {
        expect(selectorProblems(objects)).to.deep.equal([]);
      });
    }

    it('fails a wrong port, a misspelt probe path or a Service aimed at no port', () => {
      const served = programServedPaths(matchService);
      const deployment = structuredClone(find(overlays.base!, 'Deployment', 'match-service')!);
      const container = (deployment.spec as any).template.spec.containers[0];
      container.ports[0].containerPort = 8080;
      container.readinessProbe.httpGet.path = '/ready';
      expect(probeProblems(deployment, programDefaultPort(matchService)!, served)).to.deep.equal([
        'containerPort http is 8080, the code listens on 3000',
        'readinessProbe path /ready, expected /readyz',
        'readinessProbe path /ready is not served by the code',
      ]);
      const objects = structuredClone(overlays.base!);
      (find(objects, 'Service', 'match-service')!.spec as any).ports[0].targetPort = 'web';
      expect(selectorProblems(objects)).to.deep.equal([
        'Service/match-service: targetPort web is not a port of its pods',
      ]);
    });
  });

  describe('KEDA scales notifier on the stream and consumer the code declares', () => {
    const expected = () => ({
      stream: DEFAULT_RELAY_STREAM,
      consumer: envDefault(notifierConfig, 'NOTIFIER_CONSUMER'),
      monitorPort: natsValues.config.monitor.port as number,
    });
    for (const [overlay, objects] of Object.entries(overlays)) {
      it(`k8s ${overlay}`, () => {
        expect(configValue(objects, 'jetbox-shared', 'JETBOX_STREAM')).to.equal(
          DEFAULT_RELAY_STREAM,
        );
        expect(kedaProblems(objects, expected())).to.deep.equal([]);
      });
    }

    it('notifier’s code default for the durable consumer', function () {
      expect(expected().consumer, 'NOTIFIER_CONSUMER has a literal default in config.ts').to.be.a(
        'string',
      );
    });

    it('fails a wrong stream, a misspelt consumer or key, or an endpoint on another port', () => {
      const objects = structuredClone(overlays.production!);
      const metadata = (find(objects, 'ScaledObject', 'notifier')!.spec as any).triggers[0]
        .metadata;
      metadata.stream = 'EVENTS';
      metadata.consumer = 'notifer';
      metadata.lagTreshold = '5';
      metadata.natsServerMonitoringEndpoint = 'nats-headless.jetbox.svc.cluster.local:4222';
      expect(kedaProblems(objects, expected())).to.deep.equal([
        'unknown trigger metadata lagTreshold',
        `trigger stream EVENTS, the code's stream is ${DEFAULT_RELAY_STREAM}`,
        'trigger consumer notifer, notifier consumes as notifier',
        'natsServerMonitoringEndpoint nats-headless.jetbox.svc.cluster.local:4222, expected nats-headless.jetbox.svc.cluster.local:8222',
      ]);
    });
  });

  describe('the init steps declare notifier’s durable consumer as notifier does at start', () => {
    const kube = (objects: KubeObject[]) => {
      const job = find(objects, 'Job', 'jetbox-init')!;
      const step = asArray(get(job, ['spec', 'template', 'spec', 'containers'])).find(
        (c) => get(c, ['name']) === 'consumers-apply',
      );
      return asArray(get(step, ['args'])).map(String);
    };
    const notifierIn = (containers: ContainerEnv[]) =>
      containers.find((c) => programOfImage(c.image) === notifier)!;
    const setups: [string, string[], ContainerEnv][] = [
      ...Object.entries(overlays).map(
        ([overlay, objects]) =>
          [`k8s ${overlay}`, kube(objects), notifierIn(kubeContainerEnvs(objects))] as [
            string,
            string[],
            ContainerEnv,
          ],
      ),
      [
        'compose',
        jetboxCommandsIn(compose.services.init.command[0]).find(
          (c) => commandWords(c).join(' ') === 'consumers apply',
        ) ?? [],
        notifierIn(composeContainerEnvs(compose)),
      ],
    ];
    for (const [where, argv, container] of setups) {
      it(where, () => {
        expect(commandWords(argv)).to.deep.equal(['consumers', 'apply']);
        expect(consumerApplyProblems(argv, notifierConsumer(container))).to.deep.equal([]);
      });
    }

    it('notifier’s consumer: its code defaults, and the ack wait the CLI defaults to', () => {
      const expected = notifierConsumer(notifierIn(kubeContainerEnvs(overlays.base!)));
      expect(expected).to.deep.equal({
        name: 'notifier',
        subjects: ['events.match.>'],
        ackWaitMs: undefined,
      });
      // `consumers apply` without --ack-wait declares the consumer runtime's default, which is
      // notifier's default for NOTIFIER_ACK_WAIT_MS.
      expect(envDefaultSource(notifierConfig, 'NOTIFIER_ACK_WAIT_MS')).to.equal(
        'DEFAULT_CONSUMER_ACK_WAIT_MS',
      );
      expect(jetboxHelp(['consumers', 'apply']).stdout).to.match(
        // commander wraps long lines: the default may be on the next line.
        new RegExp(`--ack-wait <ms>[^(]*\\(default\\s+${DEFAULT_CONSUMER_ACK_WAIT_MS}\\)`),
      );
    });

    it('fails another name, subject or ack wait, and an option notifier does not set', () => {
      const container = notifierIn(kubeContainerEnvs(overlays.base!));
      const withAckWait = { ...container, values: new Map(container.values) };
      withAckWait.values.set('NOTIFIER_ACK_WAIT_MS', '60000');
      withAckWait.values.set('JETBOX_SUBJECT_PREFIX', 'shop');
      expect(
        consumerApplyProblems(
          [
            'consumers',
            'apply',
            '--name',
            'notifer',
            '--subject',
            'events.match.>',
            '--max-deliver',
            '3',
          ],
          notifierConsumer(withAckWait),
        ),
      ).to.deep.equal([
        '--name notifer, the service consumes as notifier',
        '--subject events.match.>, the service filters shop.match.>',
        "--ack-wait (default), the service's ack wait is 60000",
        '--max-deliver: the service leaves it at the default',
      ]);
    });
  });

  describe('Secrets: only references, each to a key deploy/README.md lists', () => {
    const documented = documentedSecretKeys(readRepoFile('deploy/README.md'));
    for (const [overlay, objects] of Object.entries(overlays)) {
      it(`k8s ${overlay}`, () => {
        expect(documented.size).to.be.greaterThan(0);
        expect(objects.filter((o) => o.kind === 'Secret')).to.deep.equal([]);
        expect(secretProblems(kubeContainerEnvs(objects), documented)).to.deep.equal([]);
      });
    }

    it('compose takes the database password from the environment only', () => {
      expect(compose.services.postgres.environment.POSTGRES_PASSWORD).to.match(
        /^\$\{POSTGRES_PASSWORD:\?.+\}$/,
      );
      const urls = Object.values(compose.services).flatMap((s: any) =>
        Object.values((s.environment ?? {}) as Record<string, string>).filter((v) =>
          String(v).startsWith('postgres://'),
        ),
      );
      expect(urls).to.not.be.empty;
      for (const url of urls)
        expect(url).to.match(/^postgres:\/\/postgres:\$\{POSTGRES_PASSWORD\}@postgres:5432\//);
    });

    it('fails an undocumented key and a documented key nothing uses', () => {
      const containers = kubeContainerEnvs(overlays.base!);
      containers[0]!.secretRefs.push({ name: 'match-service-db', key: 'PASSWORD' });
      const fewer = new Set([...documented].filter((k) => k !== 'notifier-db/DATABASE_URL'));
      expect(secretProblems(containers, fewer)).to.include.members([
        `${containers[0]!.where}: Secret match-service-db key PASSWORD is not listed in deploy/README.md`,
        'Deployment/notifier container notifier: Secret notifier-db key DATABASE_URL is not listed in deploy/README.md',
      ]);
      expect(
        secretProblems(kubeContainerEnvs(overlays.base!), new Set([...documented, 'api/TOKEN'])),
      ).to.deep.equal(['deploy/README.md lists Secret key api/TOKEN, which nothing uses']);
    });
  });

  describe('images and commands exist', () => {
    it('every jetbox image in the manifests has a Dockerfile, and Compose builds each with it', () => {
      const images = Object.values(overlays).flatMap((objects) =>
        kubeContainerEnvs(objects).map((c) => c.image),
      );
      for (const image of images) expect(programOfImage(image), image).to.not.equal(undefined);
      for (const [name, service] of Object.entries(compose.services as Record<string, any>)) {
        const p = programOfImage(service.image);
        if (!p) {
          expect(service.image, name).to.match(/^(nats:2\.\d+|postgres:1[5-9])-alpine$/);
          continue;
        }
        // Compose resolves the context against the file's folder, the Dockerfile against the context.
        expect(resolve(DEPLOY_DIR, service.build.context, service.build.dockerfile), name).to.equal(
          join(REPO_ROOT, 'deploy', 'docker', `${p.image.split('/')[1]}.Dockerfile`),
        );
      }
    });

    it('every jetbox command the manifests run exists in the CLI', () => {
      const commands: string[][] = [];
      for (const objects of Object.values(overlays)) {
        for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
          const spec = get(o, ['spec', 'template', 'spec']);
          for (const c of [
            ...asArray(get(spec, ['initContainers'])),
            ...asArray(get(spec, ['containers'])),
          ]) {
            const p = programOfImage(String(get(c, ['image'])));
            if (p?.name === 'jetbox-cli') commands.push(asArray(get(c, ['args'])).map(String));
            // Services run their image's CMD; a command override would bypass it unnoticed.
            else expect(get(c, ['command']), o.metadata.name).to.equal(undefined);
          }
        }
      }
      commands.push(compose.services.relay.command);
      commands.push(...jetboxCommandsIn(compose.services.init.command[0]));
      expect(commands.map((c) => commandWords(c).join(' '))).to.include.members([
        'relay',
        'migrate',
        'streams apply',
        'consumers apply',
      ]);
      const unique = [...new Set(commands.map((c) => JSON.stringify(c)))].map(
        (c) => JSON.parse(c) as string[],
      );
      expect(unique.map(jetboxCommandProblem).filter(Boolean)).to.deep.equal([]);
    });

    it('fails a command the CLI does not have, or an option the command does not have', () => {
      expect(jetboxCommandProblem(['streams', 'aply'])).to.match(/is not a jetbox command/);
      expect(
        jetboxCommandProblem(['consumers', 'apply', '--name', 'x', '--filter', 'a.>']),
      ).to.equal('jetbox consumers apply has no option --filter');
      expect(
        jetboxCommandsIn(
          'jetbox migrate && jetbox --database-url "postgres://x" migrate && jetbox streams apply && jetbox consumers apply --name n --subject "events.match.>"',
        ),
      ).to.deep.equal([
        ['migrate'],
        ['migrate'],
        ['streams', 'apply'],
        ['consumers', 'apply', '--name', 'n', '--subject', 'events.match.>'],
      ]);
    });
  });

  describe('NATS cluster and stream replicas', () => {
    it('the Helm values make a 3-node JetStream cluster on persistent file storage', () => {
      const config = natsValues.config;
      expect(config.cluster).to.include({ enabled: true, replicas: 3 });
      expect(config.jetstream.enabled).to.equal(true);
      expect(config.jetstream.fileStore).to.include({ enabled: true });
      expect(config.jetstream.fileStore.pvc).to.include({ enabled: true });
      expect(config.jetstream.memoryStore.enabled).to.equal(false);
      expect(config.monitor).to.include({ enabled: true, port: 8222 });
    });

    it('production declares R3 streams, which the cluster can hold; the base and Compose R1', () => {
      const replicas = (objects: KubeObject[]) =>
        Number(configValue(objects, 'jetbox-shared', 'JETBOX_STREAM_REPLICAS'));
      expect(replicas(overlays.production!)).to.equal(3);
      expect(replicas(overlays.production!)).to.be.at.most(
        natsValues.config.cluster.replicas as number,
      );
      expect(replicas(overlays.base!)).to.equal(1);
      expect(compose.services.init.environment.JETBOX_STREAM_REPLICAS).to.equal('1');
      // The programs reach the Helm release's client Service.
      expect(configValue(overlays.production!, 'jetbox-shared', 'NATS_URL')).to.equal(
        'nats://nats:4222',
      );
    });

    it('both services declare the streams at start, with JETBOX_STREAM_REPLICAS', () => {
      expect(streamDeclaringServices.map((p) => p.name)).to.have.members([
        'match-service',
        'notifier',
      ]);
      for (const p of streamDeclaringServices)
        expect(programEnv(p)).to.include('JETBOX_STREAM_REPLICAS');
      expect(replicasDefault()).to.equal('1');
    });

    const setups: [string, ContainerEnv[], string, string][] = [
      [
        'k8s base',
        kubeContainerEnvs(overlays.base!),
        'Job/jetbox-init container streams-apply',
        '1',
      ],
      [
        'k8s production',
        kubeContainerEnvs(overlays.production!),
        'Job/jetbox-init container streams-apply',
        '3',
      ],
      ['compose', composeContainerEnvs(compose), 'compose service init', '1'],
    ];
    for (const [where, containers, applierName, wanted] of setups) {
      it(`${where}: the services declare the streams with the init step's replicas (${wanted})`, () => {
        const applier = containers.find((c) => c.where === applierName)!;
        expect(applier.values.get('JETBOX_STREAM_REPLICAS')).to.equal(wanted);
        const declarers = streamDeclarers(containers);
        expect(declarers).to.have.lengthOf(2);
        expect(replicaProblems(declarers, applier, replicasDefault())).to.deep.equal([]);
      });
    }

    it('fails a service that declares the streams with other replicas than the init Job', () => {
      const objects = structuredClone(overlays.production!);
      (
        find(objects, 'ConfigMap', 'match-service')!.data as Record<string, string>
      ).JETBOX_STREAM_REPLICAS = '1';
      const containers = kubeContainerEnvs(objects);
      const applier = containers.find(
        (c) => c.where === 'Job/jetbox-init container streams-apply',
      )!;
      expect(replicaProblems(streamDeclarers(containers), applier, '1')).to.deep.equal([
        'Deployment/match-service container match-service: declares the streams with JETBOX_STREAM_REPLICAS 1, Job/jetbox-init container streams-apply with 3',
      ]);
      const notifierOnly = kubeContainerEnvs(structuredClone(overlays.production!)).filter(
        (c) => programOfImage(c.image) === notifier,
      );
      notifierOnly[0]!.values.delete('JETBOX_STREAM_REPLICAS');
      notifierOnly[0]!.defaulted.add('JETBOX_STREAM_REPLICAS');
      expect(replicaProblems(notifierOnly, applier, '1')).to.deep.equal([
        'Deployment/notifier container notifier: declares the streams with JETBOX_STREAM_REPLICAS 1, Job/jetbox-init container streams-apply with 3',
      ]);
    });
  });
});
