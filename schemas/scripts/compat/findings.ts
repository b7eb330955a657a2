/** Stable names of the compatibility rules; a finding carries the one that produced it. */
export const CompatRule = {
  VersionRemoved: 'version-removed',
  IdChanged: 'id-changed',
  FieldRemoved: 'field-removed',
  TypeChanged: 'type-changed',
  RequiredWithoutDefault: 'required-without-default',
  FieldMadeOptional: 'field-made-optional',
  EnumNarrowed: 'enum-narrowed',
  ConstraintNarrowed: 'constraint-narrowed',
  UnsupportedChange: 'unsupported-change',
  TypeAdded: 'type-added',
  VersionAdded: 'version-added',
  FieldAdded: 'field-added',
  EnumWidened: 'enum-widened',
  ConstraintWidened: 'constraint-widened',
} as const;
export type CompatRule = (typeof CompatRule)[keyof typeof CompatRule];

/** One difference between the previous and the current schema of a type and version. */
export interface CompatFinding {
  /** A breaking change fails the check; it belongs in a new version file. */
  breaking: boolean;
  rule: CompatRule;
  /** CloudEvent type, e.g. `com.jetbox.match.created`. */
  type: string;
  version: number;
  /** Where in the event data, as a JSON path: `$` is the data, `$.reason.code`, `$.userIds[*]`. */
  path: string;
  message: string;
}

export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** One schema file: a CloudEvent type at one version. */
export interface SchemaEntry {
  type: string;
  version: number;
  file: string;
  schema: { readonly [keyword: string]: unknown };
}

export type SchemaSet = readonly SchemaEntry[];
