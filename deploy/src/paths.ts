import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the Docker build context of every image). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** `deploy/` */
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');
/** `deploy/k8s/` */
export const K8S_DIR = join(DEPLOY_DIR, 'k8s');
/** `deploy/docker/` */
export const DOCKER_DIR = join(DEPLOY_DIR, 'docker');
