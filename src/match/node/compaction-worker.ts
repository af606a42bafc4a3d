import { parentPort, workerData } from 'node:worker_threads';
import { mergeParts } from '../merge-parts.js';
import type { PdqCompactionJob } from '../pdq-index.js';
import { Segment } from '../segment.js';

/**
 * Worker-thread entry: rebuilds the parts of a `beginCompaction` job into
 * new parts in shared memory and hands them back (no copy: the arrays are
 * SharedArrayBuffers).
 */
const port = parentPort;
if (port === null) throw new Error('compaction-worker.js runs inside a worker thread only.');

const job = workerData as PdqCompactionJob;
port.postMessage(
  mergeParts(
    job.parts.map((data) => new Segment(data)),
    null,
    job.build,
  ),
);
