import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A `.dockerignore` as a predicate on context-relative paths (`a/b/c`). Implements the subset
 * jetbox's file uses: `*`, `?` and `**` globs, a path excluded with every path under it.
 * Negations (`!`) and character classes fail loudly rather than being misread.
 */
export function readDockerignore(context: string): (relativePath: string) => boolean {
  const file = join(context, '.dockerignore');
  if (!existsSync(file)) return () => false;
  const patterns = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((pattern) => {
      if (pattern.startsWith('!') || /[[\]\\]/.test(pattern)) {
        throw new Error(`${file}: pattern "${pattern}" is beyond what deploy/test reads`);
      }
      const body = pattern
        .replace(/^\/+/, '')
        .replace(/\/+$/, '')
        .split('/')
        .map((part) =>
          part === '**'
            ? '(?:.*)'
            : part
                .replace(/[.+^${}()|]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/^\(\?:\.\*\)\//, '(?:.*/)?');
      return new RegExp(`^${body}(?:/.*)?$`);
    });
  return (relativePath) => patterns.some((p) => p.test(relativePath));
}
