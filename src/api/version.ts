import { readFileSync } from 'node:fs';

/**
 * The version in package.json, found by walking up from this file: it sits at
 * a different depth in src/ (tests) and in dist/src/ (the built server).
 */
export function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'takedown' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; look higher
    }
  }
  return '0.0.0';
}
