import type { SchemaSet } from './findings.js';

/** What the working schemas are compared with. */
export type BaselineSource =
  | { kind: 'registry'; registry?: string }
  | { kind: 'git'; ref?: string }
  | { kind: 'tarball'; path: string }
  | { kind: 'folder'; dir: string };

export interface Baseline {
  /** Where the schemas came from, for people: `@jetbox/schemas@0.1.0 from https://…`. */
  description: string;
  schemas: SchemaSet;
}
