import { createReadStream, createWriteStream, openSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { TakedownError } from '../errors.js';
import type { FlatRow, ReportFormat } from './report-rows.js';
import { csvHeader, csvRow, flattenRow } from './report-rows.js';
import type { RowSink } from './session.js';
import type { ReportRow } from './types.js';

/**
 * `--report FILE`. Rows are streamed to a temporary file as the scan goes
 * (a scan of millions of files never holds its rows in memory); at the end
 * the report is written next to the target and renamed over it, so the
 * file is either the whole report or the previous one, never half.
 *
 * JSON: `{"report": "takedown-scan", …, "summary": {…}, "rows": [{…}, …]}`.
 * CSV: one header line, then the rows; the summary is in the JSON only.
 */
export class ReportFile implements RowSink {
  readonly file: string;
  readonly format: ReportFormat;
  readonly #rowsFile: string;
  readonly #rows: WriteStream;
  #failed: Error | undefined;

  constructor(file: string, format: ReportFormat) {
    this.file = file;
    this.format = format;
    this.#rowsFile = `${file}.rows-${process.pid}.tmp`;
    let fd: number;
    try {
      // Opened now, so that a report that cannot be written stops the scan before it starts.
      fd = openSync(this.#rowsFile, 'w', 0o600);
    } catch (error) {
      throw new TakedownError(
        'report-unwritable',
        `The report ${file} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Check the folder exists and is writable.`,
        { cause: error },
      );
    }
    this.#rows = createWriteStream(this.#rowsFile, { fd });
    this.#rows.on('error', (error) => {
      this.#failed = error;
    });
  }

  add(row: ReportRow): void {
    this.#rows.write(`${JSON.stringify(flattenRow(row))}\n`);
  }

  /** Writes the report with `head` (meta data and summary) before the rows. */
  async finish(head: Record<string, unknown>): Promise<void> {
    this.#rows.end();
    await once(this.#rows, 'close');
    const target = `${this.file}.${process.pid}.tmp`;
    try {
      if (this.#failed) throw this.#failed;
      const out = createWriteStream(target, { mode: 0o644 });
      const write = async (text: string) => {
        if (!out.write(text)) await once(out, 'drain');
      };
      if (this.format === 'json') {
        const opening = JSON.stringify({ report: 'takedown-scan', ...head, rows: [] }, null, 2);
        // Everything before the rows, then the rows one per line, then the end.
        await write(`${opening.slice(0, opening.lastIndexOf('[') + 1)}\n`);
      } else {
        await write(csvHeader());
      }
      let first = true;
      for await (const line of readLines(this.#rowsFile)) {
        if (this.format === 'json') {
          await write(`${first ? '' : ',\n'}    ${line}`);
        } else {
          await write(csvRow(JSON.parse(line) as FlatRow));
        }
        first = false;
      }
      if (this.format === 'json') await write(`${first ? '' : '\n'}  ]\n}\n`);
      out.end();
      await once(out, 'close');
      await rename(target, this.file);
    } catch (error) {
      await unlink(target).catch(() => undefined);
      throw new TakedownError(
        'report-unwritable',
        `The report ${this.file} could not be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`,
        { kind: 'unavailable', cause: error },
      );
    } finally {
      await unlink(this.#rowsFile).catch(() => undefined);
    }
  }

  /** Drops the temporary rows (a dry run or a failed start). */
  async discard(): Promise<void> {
    this.#rows.end();
    await once(this.#rows, 'close').catch(() => undefined);
    await unlink(this.#rowsFile).catch(() => undefined);
  }
}

async function* readLines(file: string): AsyncGenerator<string> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) if (line !== '') yield line;
  } finally {
    lines.close();
    stream.destroy();
  }
}
