import type { PdqIndexLayout } from './pdq-index.js';
import { SearchScratch, searchParts } from './search-parts.js';
import { Segment } from './segment.js';
import type { PdqMatch, PdqQuery, PdqSearchOptions } from './types.js';
import { checkRadius, queryWords } from './types.js';

/**
 * A read-only window on a `PdqIndex` whose memory is shared (built with
 * `shared: true`), for a worker thread. Adds and removes made by the writer
 * inside the current parts show up here at once (they are writes to shared
 * memory); when the writer's parts change (`layout().version` moves), give
 * the view the new layout with `update`.
 */
export class PdqIndexView {
  #layout: PdqIndexLayout;
  #segments: Segment[];
  readonly #scratch = new SearchScratch();

  constructor(layout: PdqIndexLayout) {
    this.#layout = layout;
    this.#segments = layout.segments.map((data) => new Segment(data));
  }

  get version(): number {
    return this.#layout.version;
  }

  update(layout: PdqIndexLayout): void {
    this.#segments = layout.segments.map((data) => new Segment(data));
    this.#layout = layout;
  }

  search(query: PdqQuery, options?: PdqSearchOptions): PdqMatch[] {
    const radius = checkRadius(options);
    return searchParts(
      this.#segments,
      this.#layout.delta,
      queryWords(query),
      radius,
      this.#scratch,
    );
  }
}
