import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/**
 * The shared conformance data lives beside the repository (`../shared`), as
 * on CI. TAKEDOWN_SHARED overrides the location.
 */
export const SHARED_DIR =
  process.env.TAKEDOWN_SHARED ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared');

export const PDQ_DIR = path.join(SHARED_DIR, 'conformance/pdq');

export function requireShared(): void {
  if (!existsSync(PDQ_DIR)) {
    throw new Error(
      `The conformance data is missing: expected ${PDQ_DIR} (clone the shared folder beside the repository or set TAKEDOWN_SHARED).`,
    );
  }
}

export interface ExpectedRow {
  path: string;
  hash: string;
  quality: number;
}

/** Reads `expected/<name>.tsv` (path, hash, quality). */
export function readExpected(name: 'fullres' | 'cli' | 'pytx'): ExpectedRow[] {
  requireShared();
  const lines = readFileSync(path.join(PDQ_DIR, 'expected', `${name}.tsv`), 'utf8')
    .trim()
    .split('\n');
  return lines.slice(1).map((line) => {
    const [p, hash, quality] = line.split('\t');
    return { path: p, hash, quality: Number(quality) };
  });
}

export interface DihedralRow {
  path: string;
  hashes: Record<string, string>;
  quality: number;
}

export function readDihedral(): DihedralRow[] {
  requireShared();
  const lines = readFileSync(path.join(PDQ_DIR, 'expected/dihedral-cli.tsv'), 'utf8')
    .trim()
    .split('\n');
  const header = lines[0].split('\t');
  return lines.slice(1).map((line) => {
    const cols = line.split('\t');
    const hashes: Record<string, string> = {};
    for (let i = 1; i < header.length - 1; i++) hashes[header[i]] = cols[i];
    return { path: cols[0], hashes, quality: Number(cols[header.length - 1]) };
  });
}

export function conformanceImage(relative: string): string {
  return path.join(PDQ_DIR, 'images', relative);
}
