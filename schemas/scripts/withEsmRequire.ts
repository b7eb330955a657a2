/**
 * ajv's standalone code loads its runtime helpers (ucs2length, equal, ajv-formats' formats)
 * with `require("…").default` even when asked for ESM, and `require` does not exist in an ES
 * module: the package would fail to load under plain node (tsx shims `require`, so tests run
 * through tsx alone would never notice). A `require` made by `createRequire` gives the code
 * exactly the CommonJS semantics it was written for; rewriting the calls into default imports
 * does not, because loaders disagree on what a default import of a CommonJS module with
 * `__esModule` is. The leading `"use strict"` goes: after an import it would no longer be a
 * directive, and a module is strict anyway.
 */
export function withEsmRequire(standalone: string): string {
  const code = standalone.replace(/^"use strict";/, '');
  if (!/\brequire\(/.test(code)) return code;
  return `import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\n${code}`;
}
