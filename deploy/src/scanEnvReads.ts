import { readFileSync } from 'node:fs';
import ts from 'typescript';

/** What a source file reads from the environment, found in its syntax tree. */
export interface EnvReads {
  /** Variable names, e.g. `DATABASE_URL`. */
  names: Set<string>;
  /** Functions called that read further variables themselves (e.g. `natsOptionsFromEnv`). */
  calls: Set<string>;
}

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/**
 * The environment variables a config file reads: `env.NAME` / `process.env.NAME`,
 * `env['NAME']`, and an upper-case string literal passed first to a plain function call (the
 * getter idiom `get('NAME')`, and helpers like `integer('PORT', …)`), and the service-kit
 * reader's `read.<kind>('NAME', …)`. Read from the syntax tree, not by
 * regular expression, so comments and documentation strings never count.
 */
export function scanEnvReads(file: string, text = readFileSync(file, 'utf8')): EnvReads {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const names = new Set<string>();
  const calls = new Set<string>();
  const isEnv = (e: ts.Expression) => {
    const t = e.getText(source);
    return t === 'env' || t === 'process.env';
  };
  const visit = (node: ts.Node) => {
    if (
      ts.isPropertyAccessExpression(node) &&
      isEnv(node.expression) &&
      ENV_NAME.test(node.name.text)
    ) {
      names.add(node.name.text);
    } else if (
      ts.isElementAccessExpression(node) &&
      isEnv(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      ENV_NAME.test(node.argumentExpression.text)
    ) {
      names.add(node.argumentExpression.text);
    } else if (isReaderCall(node, source)) {
      // The service-kit reader idiom: `read.integer('PORT', …)`.
      names.add((node.arguments[0] as ts.StringLiteralLike).text);
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
      // Plain function calls only: `process.once('SIGTERM', …)` names a signal, not a variable.
      const [first] = node.arguments;
      if (first && ts.isStringLiteralLike(first) && ENV_NAME.test(first.text))
        names.add(first.text);
      calls.add(node.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { names, calls };
}

/**
 * The literal default a config file gives a variable: the right side of `get('NAME') ?? x`
 * or the second argument of `read.<kind>('NAME', x)`,
 * a string or number literal or a `const` of this file holding one. Undefined when there is
 * none or it is imported.
 */
export function envDefault(
  file: string,
  name: string,
  text = readFileSync(file, 'utf8'),
): string | undefined {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const constants = new Map<string, string>();
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      const value = literal(node.initializer);
      if (value !== undefined) constants.set(node.name.text, value);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const found = defaultExpression(source, name);
  if (!found) return undefined;
  return literal(found) ?? (ts.isIdentifier(found) ? constants.get(found.text) : undefined);
}

/**
 * The source text of the default a config file gives a variable (see {@link envDefault}), e.g.
 * `DEFAULT_CONSUMER_ACK_WAIT_MS` for an imported constant. Undefined when there is none.
 */
export function envDefaultSource(
  file: string,
  name: string,
  text = readFileSync(file, 'utf8'),
): string | undefined {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  return defaultExpression(source, name)?.getText(source);
}

function defaultExpression(source: ts.SourceFile, name: string): ts.Expression | undefined {
  let found: ts.Expression | undefined;
  const visit = (node: ts.Node) => {
    if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken &&
      ts.isCallExpression(node.left) &&
      node.left.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.left.arguments[0]) &&
      node.left.arguments[0].text === name
    ) {
      found = node.right;
    }
    if (
      isReaderCall(node, source) &&
      (node.arguments[0] as ts.StringLiteralLike).text === name &&
      node.arguments[1] !== undefined
    ) {
      found = node.arguments[1];
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `export const NAME = <number or string literal>` in a file, as text. */
export function constantValue(
  file: string,
  name: string,
  text = readFileSync(file, 'utf8'),
): string | undefined {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  let value: string | undefined;
  const visit = (node: ts.Node) => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === name &&
      node.initializer
    ) {
      value = literal(node.initializer);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return value;
}

function literal(e: ts.Expression): string | undefined {
  if (ts.isStringLiteralLike(e) || ts.isNumericLiteral(e)) return e.text;
  return undefined;
}

/** `read.<kind>('NAME', …)` on an `envReader` named `read`. */
function isReaderCall(node: ts.Node, source: ts.SourceFile): node is ts.CallExpression {
  if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return false;
  const [first] = node.arguments;
  return (
    node.expression.expression.getText(source) === 'read' &&
    first !== undefined &&
    ts.isStringLiteralLike(first) &&
    ENV_NAME.test(first.text)
  );
}
