#!/usr/bin/env node
// The installed `jetbox` command. It lives outside dist/ so npm can link it at install time,
// before the package is built.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error(
    'jetbox: @jetbox/events is not built yet; run `npm run build` at the repository root first',
  );
  process.exit(2);
}
await import(main.href);
