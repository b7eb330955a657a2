import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import type { FieldError } from '@jetbox/service-kit';
import { MatchServiceError, MatchServiceErrorCode } from '../errors.js';

const ajv = new Ajv({ allErrors: true, strict: true });

/** Compiles a JSON Schema into a function that returns the typed body or throws `INVALID_BODY`. */
export function bodyValidator<T>(schema: JSONSchemaType<T>): (body: unknown) => T {
  const validate: ValidateFunction<T> = ajv.compile(schema);
  return (body) => {
    if (validate(body)) return body;
    const errors = (validate.errors ?? []).map(fieldError);
    const detail = errors.map((e) => `${e.field} ${e.message}`).join('; ');
    throw new MatchServiceError(MatchServiceErrorCode.InvalidBody, detail, errors);
  };
}

const ROOT = '(body)';

function fieldError(e: ErrorObject): FieldError {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = e.params as { missingProperty?: string; additionalProperty?: string };
  if (params.missingProperty) path.push(params.missingProperty);
  if (params.additionalProperty) {
    path.push(params.additionalProperty);
    return { field: path.join('.'), message: 'is not allowed' };
  }
  return {
    // The body itself (not an object, or absent) has no field name of its own.
    field: path.join('.') || ROOT,
    message: params.missingProperty ? 'is required' : (e.message ?? 'is invalid'),
  };
}
