// `npm run check:kustomize -w @jetbox/deploy`: renders jetbox's kustomizations with kubectl and
// with deploy's own renderer (which the tests use) and fails when they differ. Needs kubectl,
// so it is a script rather than a test. Exit 0: they agree; 1: they differ; 2: kubectl failed.
import { join } from 'node:path';
import { kustomizeDifferences } from '../src/kustomizeDifferences.js';
import { K8S_DIR } from '../src/paths.js';

const KUSTOMIZATIONS = ['base', 'overlays/production'];

let differ = false;
for (const dir of KUSTOMIZATIONS) {
  let differences: string[];
  try {
    differences = kustomizeDifferences(join(K8S_DIR, dir), process.env.KUBECTL ?? 'kubectl');
  } catch (err) {
    console.error(`k8s/${dir}: ${(err as Error).message}`);
    process.exit(2);
  }
  if (differences.length === 0) console.log(`k8s/${dir}: kubectl kustomize agrees`);
  else {
    differ = true;
    console.log(`k8s/${dir}: differs from kubectl kustomize`);
    for (const d of differences) console.log(`  ${d}`);
  }
}
process.exitCode = differ ? 1 : 0;
