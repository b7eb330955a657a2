import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import type { KubeObject } from './renderKustomization.js';

interface Validatable {
  validate(): void;
}

/**
 * The schema of each kind jetbox deploys: the Kubernetes OpenAPI schemas (kubernetes-models)
 * and KEDA's CRD schema (@kubernetes-models/keda). A kind missing here fails validation, so a
 * new kind cannot slip through unchecked.
 */
const MODELS: Record<string, new (data: never) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

/**
 * Validates one object against its kind's schema; returns the problems (none when valid).
 * The OpenAPI schemas check types, required fields and enums; like the API server's default,
 * they do not reject unknown fields, which the cross-reference tests cover where it matters
 * (probes, ports, env) by reading those fields by name.
 */
export function validateKubernetesObject(object: KubeObject): string[] {
  const id = `${object.kind}/${object.metadata.name}`;
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) return [`${id}: no schema for ${object.apiVersion} ${object.kind}; add its model`];
  try {
    new Model(structuredClone(object) as never).validate();
    return [];
  } catch (err) {
    return [`${id}: ${(err as Error).message}`];
  }
}
