import { readFileSync } from 'node:fs';
import { Router } from '@koa/router';

// The page's files live next to the package's src/ and dist/, so one path serves both.
const UI_DIR = new URL('../../console-ui/', import.meta.url);

const ASSETS = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
} as const;

// Message bodies are untrusted: the page writes them only as text, and this policy keeps any
// markup that slipped through from running scripts, loading resources or posting elsewhere.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The console's single page and its script and style, read once at start. */
export function consolePage(): Router {
  const router = new Router();
  for (const [path, asset] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(asset.file, UI_DIR), 'utf8');
    router.get(path, (ctx) => {
      ctx.set('Content-Security-Policy', CSP);
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('Referrer-Policy', 'no-referrer');
      ctx.set('Cache-Control', 'no-store');
      ctx.type = asset.type;
      ctx.body = body;
    });
  }
  return router;
}
