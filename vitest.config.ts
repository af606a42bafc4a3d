import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file gets its own process: native modules (sharp, PGlite) and
    // worker threads stay isolated, and a crash names its file.
    pool: 'forks',
    // Starts a throw-away PostgreSQL and migrates the template databases that
    // database tests clone (test/support/db.ts), in the background.
    globalSetup: ['test/support/db-global-setup.ts'],
    // `takedown serve` runs the report pipeline, which refuses to start
    // without a media key: servers that tests spawn get this throw-away one.
    env: { TAKEDOWN_MEDIA_KEY: '00'.repeat(31) + '01' },
  },
});
