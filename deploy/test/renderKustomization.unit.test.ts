import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { renderKustomization } from '../src/renderKustomization.js';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  template:
    spec:
      initContainers:
        - name: init
          image: jetbox/relay:0.1.0
      containers:
        - name: web
          image: jetbox/web:0.1.0
        - name: side
          image: other/side:1
`;

/** Writes a tree of files under a fresh temporary folder. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'jetbox-kustomize-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('renderKustomization', () => {
  const roots: string[] = [];
  const make = (files: Record<string, string>) => {
    const root = tree(files);
    roots.push(root);
    return root;
  };
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  const base = {
    'base/kustomization.yaml':
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nresources: [web.yaml]\n',
    'base/web.yaml': DEPLOYMENT,
  };

  it('applies the namespace, JSON 6902 patches and image overrides of an overlay', () => {
    const root = make({
      ...base,
      'prod/kustomization.yaml': `kind: Kustomization
resources: [../base]
images:
  - name: jetbox/web
    newName: registry.example.com/jetbox/web
    newTag: "2.0"
  - name: jetbox/relay
    digest: sha256:abc
patches:
  - target: { group: apps, kind: Deployment, name: web }
    patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
`,
    });
    const [web] = renderKustomization(join(root, 'prod'));
    expect(web!.metadata.namespace).to.equal('shop');
    expect((web!.spec as { replicas: number }).replicas).to.equal(3);
    const pod = (
      web!.spec as {
        template: {
          spec: { containers: { image: string }[]; initContainers: { image: string }[] };
        };
      }
    ).template.spec;
    expect(pod.containers.map((c) => c.image)).to.deep.equal([
      'registry.example.com/jetbox/web:2.0',
      'other/side:1',
    ]);
    expect(pod.initContainers[0]!.image).to.equal('jetbox/relay@sha256:abc');
  });

  it('refuses fields it does not implement instead of ignoring them', () => {
    const root = make({
      ...base,
      'prod/kustomization.yaml':
        'kind: Kustomization\nresources: [../base]\ncommonLabels: {a: b}\n',
    });
    expect(() => renderKustomization(join(root, 'prod'))).to.throw(
      /field "commonLabels" is not supported/,
    );
  });

  it('refuses strategic merge patches (a patch without a target)', () => {
    const root = make({
      ...base,
      'prod/kustomization.yaml':
        'kind: Kustomization\nresources: [../base]\npatches:\n  - patch: "kind: Deployment"\n',
    });
    expect(() => renderKustomization(join(root, 'prod'))).to.throw(/needs a target/);
  });

  it('fails on a patch that matches nothing or replaces a missing path', () => {
    const noTarget = make({
      ...base,
      'prod/kustomization.yaml':
        'kind: Kustomization\nresources: [../base]\npatches:\n  - target: {kind: Deployment, name: nope}\n    patch: "[{op: remove, path: /spec}]"\n',
    });
    expect(() => renderKustomization(join(noTarget, 'prod'))).to.throw(/matches no resource/);
    const badPath = make({
      ...base,
      'prod/kustomization.yaml':
        'kind: Kustomization\nresources: [../base]\npatches:\n  - target: {kind: Deployment, name: web}\n    patch: "[{op: replace, path: /spec/nothing/here, value: 1}]"\n',
    });
    expect(() => renderKustomization(join(badPath, 'prod'))).to.throw(/patch on Deployment\/web/);
  });

  it('fails on duplicate resources', () => {
    const root = make({
      ...base,
      'base/kustomization.yaml': 'kind: Kustomization\nresources: [web.yaml, web.yaml]\n',
    });
    expect(() => renderKustomization(join(root, 'base'))).to.throw(/declared twice/);
  });
});
