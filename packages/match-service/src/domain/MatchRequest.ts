import { ArrayType, EntitySchema } from '@mikro-orm/core';

/**
 * A user waiting to be matched. Region and interests are copied from the user so the matcher
 * reads one table; the primary key keeps a user waiting at most once.
 */
export class MatchRequest {
  userId!: string;
  region!: string;
  interests!: string[];
  createdAt: Date = new Date();
}

export const MatchRequestSchema = new EntitySchema<MatchRequest>({
  class: MatchRequest,
  tableName: 'match_requests',
  properties: {
    userId: { type: 'uuid', primary: true },
    region: { type: 'text' },
    interests: { type: ArrayType, columnType: 'text[]' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
