import type { JSONSchemaType } from 'ajv';
import type { CancelReasonCode } from '../domain/Match.js';
import { bodyValidator } from './validateBody.js';

export interface CreateUserBody {
  name: string;
  region: string;
  interests: string[];
}

export const parseCreateUser = bodyValidator<CreateUserBody>({
  type: 'object',
  additionalProperties: false,
  required: ['name', 'region', 'interests'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    region: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' },
    interests: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 64 },
    },
  },
});

/** A match request carries no data; an empty object is accepted for clients that always send one. */
export const parseMatchRequest = bodyValidator<Record<string, never>>({
  type: 'object',
  additionalProperties: false,
  required: [],
} as unknown as JSONSchemaType<Record<string, never>>);

const REASON_CODES: CancelReasonCode[] = ['user_request', 'no_show', 'moderation', 'other'];

export interface CancelBody {
  /** A code with an optional note, or free text (taken as code `other` with that note). */
  reason: { code: CancelReasonCode; note?: string } | string;
}

export const parseCancel = bodyValidator<CancelBody>({
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: {
    reason: {
      oneOf: [
        { type: 'string', minLength: 1, maxLength: 500 },
        {
          type: 'object',
          additionalProperties: false,
          required: ['code'],
          properties: {
            code: { type: 'string', enum: REASON_CODES },
            note: { type: 'string', minLength: 1, maxLength: 500 },
          },
        },
      ],
    },
  },
} as unknown as JSONSchemaType<CancelBody>);
