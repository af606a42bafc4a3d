import cliProgress from 'cli-progress';

/**
 * The progress bar of long commands (`takedown hash`, `takedown scan`), on
 * standard error: done/total, rate and ETA, and a few words of status.
 */
export interface Progress {
  /** One more item done; `failed` counts it among the failures shown. */
  tick(failed: boolean): void;
  /** Wipes the bar's line, so that a row printed next does not land in it (it redraws). */
  clearLine(): void;
  stop(): void;
}

export interface ProgressOptions {
  /** "files", "images". */
  readonly unit: string;
  /**
   * Counts the total alongside the work (a listing-only walk, say); until
   * it resolves the total shows as "…". Aborted when the bar stops.
   */
  readonly count?: (signal: AbortSignal) => Promise<number>;
  /** Extra words after the rate, e.g. "3 matched". */
  readonly status?: () => string;
}

export function startProgress(stream: NodeJS.WritableStream, options: ProgressOptions): Progress {
  let total: number | undefined;
  let failed = 0;
  const started = Date.now();
  const bar = new cliProgress.SingleBar({
    stream: stream as NodeJS.WriteStream,
    forceRedraw: true,
    clearOnComplete: true,
    format: (_options, params) => {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const rate = params.value / seconds;
      const width = 24;
      const filled = total ? Math.round((Math.min(params.value, total) / total) * width) : 0;
      const eta =
        total && rate > 0
          ? formatEta((total - params.value) / rate)
          : total === undefined
            ? '…'
            : '-';
      const status = options.status?.() ?? '';
      return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${params.value}/${total ?? '…'} ${options.unit} | ${rate.toFixed(1)}/s | ETA ${eta}${failed ? ` | ${failed} failed` : ''}${status ? ` | ${status}` : ''}`;
    },
  });
  bar.start(1, 0);
  const counting = new AbortController();
  options.count?.(counting.signal).then(
    (n) => {
      total = n;
      bar.setTotal(n);
    },
    () => undefined,
  );
  return {
    tick(isFailure) {
      if (isFailure) failed++;
      bar.increment();
    },
    clearLine() {
      stream.write('\r\x1b[2K');
    },
    stop() {
      counting.abort();
      bar.stop();
    },
  };
}

/** "42s", "3m07s", "2h05m": short enough for a bar. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
