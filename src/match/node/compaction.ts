import { Worker } from 'node:worker_threads';
import type { PdqIndex } from '../pdq-index.js';
import type { SegmentData } from '../segment.js';

/**
 * Rebuilds a shared index's parts into as few as possible on a worker
 * thread, while this thread keeps searching, adding and removing (a 10M
 * rebuild takes seconds: HMA rebuilds its whole index every minute and
 * stalls meanwhile; here nothing waits). Resolves once the new parts are in.
 */
export async function compactInBackground(
  index: PdqIndex,
  options: { readonly workerUrl?: URL } = {},
): Promise<void> {
  const job = index.beginCompaction();
  try {
    const url = options.workerUrl ?? new URL('./compaction-worker.js', import.meta.url);
    const built = await new Promise<SegmentData[]>((resolve, reject) => {
      const worker = new Worker(url, { workerData: job });
      worker.once('message', (parts: SegmentData[]) => resolve(parts));
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`The compaction thread exited with code ${code}.`)),
      );
    });
    index.finishCompaction(built);
  } catch (error) {
    index.abortCompaction();
    throw error;
  }
}
