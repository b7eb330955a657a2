import { readFileSync } from 'node:fs';
import ts from 'typescript';

/**
 * The subject filters a service gives its consumer, found in its source: each
 * `subjects: \`${<…>.subjectPrefix}<rest>\`` (or an array of them) as `<rest>`, the part after
 * `JETBOX_SUBJECT_PREFIX`. A deploy step that declares the consumer ahead of the service must
 * use the same filters, or the service updates the consumer at start.
 */
export function consumerSubjectSuffixes(file: string, text = readFileSync(file, 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const suffixes: string[] = [];
  const suffixOf = (e: ts.Expression): string | undefined => {
    if (!ts.isTemplateExpression(e) || e.head.text !== '' || e.templateSpans.length !== 1) {
      return undefined;
    }
    const [span] = e.templateSpans;
    const prefix = span!.expression;
    return ts.isPropertyAccessExpression(prefix) && prefix.name.text === 'subjectPrefix'
      ? span!.literal.text
      : undefined;
  };
  const visit = (node: ts.Node) => {
    if (
      ts.isPropertyAssignment(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === 'subjects'
    ) {
      const values = ts.isArrayLiteralExpression(node.initializer)
        ? [...node.initializer.elements]
        : [node.initializer];
      for (const v of values) {
        const suffix = suffixOf(v);
        if (suffix === undefined) {
          throw new Error(`${file}: subjects ${v.getText(source)} is not \`\${…subjectPrefix}…\``);
        }
        suffixes.push(suffix);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return suffixes;
}
