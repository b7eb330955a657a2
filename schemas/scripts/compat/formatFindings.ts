import type { CompatFinding } from './findings.js';

/** A report for people: breaking changes first, then what changed compatibly, then a verdict. */
export function formatFindings(findings: readonly CompatFinding[], baseline: string): string {
  const lines = [`@jetbox/schemas: comparing events/ with ${baseline}`];
  const breaking = findings.filter((f) => f.breaking);
  const compatible = findings.filter((f) => !f.breaking);
  const line = (label: string, f: CompatFinding) =>
    `  ${label} ${f.type} v${f.version} ${f.path}: ${f.message} [${f.rule}]`;
  if (findings.length > 0) lines.push('');
  for (const f of breaking) lines.push(line('BREAKING  ', f));
  for (const f of compatible) lines.push(line('compatible', f));
  lines.push('');
  if (breaking.length === 0) {
    lines.push(
      compatible.length === 0
        ? 'OK: no changes.'
        : `OK: ${compatible.length} compatible change${compatible.length > 1 ? 's' : ''}, nothing breaking.`,
    );
    return lines.join('\n');
  }
  const first = breaking[0]!;
  lines.push(
    `FAILED: ${breaking.length} breaking change${breaking.length > 1 ? 's' : ''}.`,
    'Published versions must keep accepting what they accepted and promising what they promised.',
    `Put a breaking change into a new version instead (e.g. ${first.type}.v<next>.schema.json next to v${first.version},`,
    `which stays as published) and add an upcaster from the previous version in src/upcast.ts.`,
  );
  return lines.join('\n');
}
