import { parentPort } from 'node:worker_threads';
import { TakedownError } from '../../errors.js';
import type { PdqIndexLayout } from '../pdq-index.js';
import { PdqIndexView } from '../pdq-index-view.js';

/**
 * Worker-thread entry: searches a `PdqIndex` whose memory the main thread
 * shares (SharedArrayBuffers), so each thread holds no copy of its own.
 */

export type SearchTask =
  | { readonly type: 'layout'; readonly layout: PdqIndexLayout }
  | {
      readonly type: 'search';
      readonly id: number;
      /** 8 words per hash, all variants of all queries back to back. */
      readonly words: Uint32Array;
      /** Number of variants of each query. */
      readonly variants: Uint8Array;
      readonly radius: number;
    };

export type SearchReply =
  | { readonly type: 'ready' }
  | {
      readonly type: 'result';
      readonly id: number;
      /** Query q's matches are ids/distances[ends[q-1] .. ends[q]). */
      readonly ends: Uint32Array;
      readonly ids: Uint32Array;
      readonly distances: Uint16Array;
    }
  | {
      readonly type: 'error';
      readonly id: number;
      readonly code: string;
      readonly message: string;
    };

const port = parentPort;
if (port === null) throw new Error('search-worker.js runs inside a worker thread only.');

let view: PdqIndexView | undefined;

port.on('message', (task: SearchTask) => {
  if (task.type === 'layout') {
    if (view === undefined) view = new PdqIndexView(task.layout);
    else view.update(task.layout);
    return;
  }
  try {
    if (view === undefined) throw new Error('no index layout received yet');
    const ends = new Uint32Array(task.variants.length);
    const ids: number[] = [];
    const distances: number[] = [];
    let at = 0;
    for (let q = 0; q < task.variants.length; q++) {
      const variants = [];
      for (let v = 0; v < task.variants[q]; v++, at++)
        variants.push(task.words.subarray(at * 8, at * 8 + 8));
      for (const match of view.search(variants, { radius: task.radius })) {
        ids.push(match.id);
        distances.push(match.distance);
      }
      ends[q] = ids.length;
    }
    const idArray = Uint32Array.from(ids);
    const distanceArray = Uint16Array.from(distances);
    const reply: SearchReply = {
      type: 'result',
      id: task.id,
      ends,
      ids: idArray,
      distances: distanceArray,
    };
    port.postMessage(reply, [ends.buffer, idArray.buffer, distanceArray.buffer]);
  } catch (error) {
    const code = error instanceof TakedownError ? error.code : 'matcher-failed';
    port.postMessage({
      type: 'error',
      id: task.id,
      code,
      message: (error as Error).message,
    } satisfies SearchReply);
  }
});

port.postMessage({ type: 'ready' } satisfies SearchReply);
