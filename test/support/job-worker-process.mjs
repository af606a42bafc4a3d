// A worker process for the SIGKILL test: `node job-worker-process.mjs <job name>`,
// database from DATABASE_URL or TAKEDOWN_DATA, lease from TAKEDOWN_JOBS_LEASE_MS.
// Its handler performs the job's effect, says so, and then hangs until killed.
// Runs the built code in dist/ (npm test builds it first).
import { loadConfig } from '../../dist/src/config.js';
import { createJobQueue, defineJob, startJobRunner } from '../../dist/src/jobs/index.js';
import { createLogger } from '../../dist/src/log.js';
import { openDatabase } from '../../dist/src/store/index.js';
import { performEffect } from './job-effect.mjs';

const [name] = process.argv.slice(2);
const config = loadConfig();
const logger = createLogger('warn', 'job-worker');
const db = await openDatabase(config, { logger, command: 'test job worker' });
startJobRunner({
  db,
  queue: createJobQueue(),
  logger,
  concurrency: 1,
  pollMs: 20,
  leaseMs: config.jobsLeaseMs,
  jobs: [
    defineJob({
      name,
      handler: async (payload, helpers) => {
        await performEffect(helpers.db, payload, helpers.job, `pid ${process.pid}`);
        process.stdout.write(`effect-done job ${helpers.job.id}\n`);
        await new Promise(() => undefined); // killed here, before the job is completed
      },
    }),
  ],
});
process.stdout.write('ready\n');
