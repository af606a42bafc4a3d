/** What the global setup (db-global-setup.ts) tells test files about the template databases. */

export const TEMPLATE_DATABASE = 'takedown_template';

export type DatabaseState =
  | { readonly status: 'ready'; readonly port?: number; readonly tarball?: string }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'failed'; readonly reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    takedownDbStateDir: string;
  }
}
