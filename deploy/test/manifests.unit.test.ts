import { join } from 'node:path';
import { expect } from 'chai';
import { loadYamlDocuments } from '../src/loadYamlDocuments.js';
import { DEPLOY_DIR, K8S_DIR } from '../src/paths.js';
import { renderKustomization, type KubeObject } from '../src/renderKustomization.js';
import { validateCompose } from '../src/validateCompose.js';
import { validateKubernetesObject } from '../src/validateKubernetesObject.js';

const OVERLAYS = ['base', 'overlays/production'];

/** A deep copy of `object` with `edit` applied: the broken manifests below. */
function broken<T>(object: T, edit: (copy: any) => void): T {
  const copy = structuredClone(object);
  edit(copy);
  return copy;
}

describe('Kubernetes manifests against the Kubernetes and KEDA schemas', () => {
  for (const overlay of OVERLAYS) {
    it(`${overlay}: every rendered object is valid for its kind`, () => {
      const objects = renderKustomization(join(K8S_DIR, overlay));
      const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      expect(kinds).to.include.members([
        'Deployment/match-service',
        'Deployment/notifier',
        'Deployment/relay',
        'Job/jetbox-init',
        'ScaledObject/notifier',
        'PodDisruptionBudget/match-service',
        'PodDisruptionBudget/notifier',
        'PodDisruptionBudget/relay',
        'Service/match-service',
        'ConfigMap/jetbox-shared',
      ]);
      expect(objects.flatMap(validateKubernetesObject)).to.deep.equal([]);
    });
  }

  it('fails broken copies: wrong types, missing required fields, unknown kinds', () => {
    const objects = renderKustomization(join(K8S_DIR, 'base'));
    const find = (kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name)!;
    const deployment = find('Deployment', 'match-service');
    const scaled = find('ScaledObject', 'notifier');
    const job = find('Job', 'jetbox-init');
    const cases: [KubeObject, RegExp][] = [
      [broken(deployment, (d) => (d.spec.replicas = 'two')), /replicas must be integer/],
      [
        broken(deployment, (d) => delete d.spec.template.spec.containers[0].name),
        /must have required property '?name'?/,
      ],
      [
        broken(
          deployment,
          (d) =>
            (d.spec.template.spec.containers[0].readinessProbe.httpGet.port = { name: 'http' }),
        ),
        /port/,
      ],
      [broken(scaled, (s) => (s.spec.maxReplicaCount = '4')), /maxReplicaCount must be integer/],
      [
        broken(scaled, (s) => delete s.spec.triggers[0].type),
        /must have required property '?type'?/,
      ],
      [
        broken(job, (j) => (j.spec.template.spec.restartPolicy = 7)),
        /restartPolicy must be string/,
      ],
      [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }, /no schema for v1 Secret/],
    ];
    for (const [object, problem] of cases) {
      expect(validateKubernetesObject(object).join('\n')).to.match(problem);
    }
  });
});

describe('compose.yaml against the Compose Specification schema', () => {
  const [compose] = loadYamlDocuments(join(DEPLOY_DIR, 'compose.yaml'), { merge: true });

  it('is valid', () => {
    expect(validateCompose(compose)).to.deep.equal([]);
  });

  it('fails broken copies: unknown keys, bad depends_on conditions, wrong types', () => {
    const cases: [unknown, RegExp][] = [
      [
        broken(
          compose,
          (c) => (c.services['match-service'].healtcheck = c.services['match-service'].healthcheck),
        ),
        /must NOT have additional properties.*healtcheck/,
      ],
      [
        broken(compose, (c) => (c.services.notifier.depends_on.init.condition = 'service_done')),
        /depends_on\/init\/condition must be equal to one of the allowed values/,
      ],
      [broken(compose, (c) => (c.services.nats.command = 42)), /\/services\/nats\/command must be/],
      [broken(compose, (c) => (c.volumes = ['nats-data'])), /\/volumes must be object/],
    ];
    for (const [document, problem] of cases) {
      expect(validateCompose(document).join('\n')).to.match(problem);
    }
  });
});
