import { parse as parseCsv } from 'csv-parse';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { TakedownError } from '../errors.js';
import type { SignalType } from '../hash/signal.js';
import type { ImportFormat, ParsedLine } from './import-format.js';
import {
  detectFormat,
  headerColumns,
  parseHashLine,
  parseJsonLine,
  parseRecord,
} from './import-format.js';

/**
 * Reads an import file as a stream: detects the format from the first
 * meaningful line, then yields one parsed line at a time, so a file of any
 * size is read in constant memory.
 */
export interface OpenedImport {
  readonly format: ImportFormat;
  /**
   * Every meaningful line, in order: an entry, or why the line is invalid.
   * In batches (one per chunk read): a million lines one `await` each cost
   * more than parsing them.
   */
  readonly batches: AsyncGenerator<ParsedLine[]>;
}

export interface ReadOptions {
  /** --type: the type of bare hashes, and of lines that name none. */
  readonly type?: SignalType;
  /** Called with the byte count of every chunk read (progress). */
  readonly onBytes?: (bytes: number) => void;
}

/** Looks at the start of `input` to detect the format; the lines follow from the start. */
export async function openImport(
  input: AsyncIterable<Buffer | string>,
  options: ReadOptions = {},
): Promise<OpenedImport> {
  const source = counted(input, options.onBytes)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  const decoder = new StringDecoder('utf8');
  let text = '';
  let first: string | undefined;
  for (;;) {
    const next = await source.next();
    if (next.done) {
      text += decoder.end();
      first = meaningfulLine(text, true);
      break;
    }
    head.push(next.value);
    text += decoder.write(next.value);
    first = meaningfulLine(text, false);
    if (first !== undefined) break;
  }
  if (first === undefined) {
    throw new TakedownError(
      'empty-import',
      'The file holds no hashes (it is empty, or only blank and # lines).',
    );
  }
  const format = detectFormat(first, options.type);
  const rest = Readable.from(
    (async function* () {
      yield* head;
      for (let next = await source.next(); !next.done; next = await source.next()) yield next.value;
    })(),
    { objectMode: false },
  );
  const batches =
    format === 'csv' || format === 'tsv'
      ? csvLines(rest, format === 'tsv' ? '\t' : ',', options.type)
      : textLines(rest, format, options.type);
  return { format, batches };
}

/** The first line that is not blank or a comment, once a whole one has arrived. */
function meaningfulLine(text: string, ended: boolean): string | undefined {
  const lines = text.split('\n');
  const complete = ended ? lines : lines.slice(0, -1);
  return complete
    .map((l) => l.replace(/\r$/, ''))
    .find((l) => {
      const t = l.replace(/^\uFEFF/, '').trim();
      return t !== '' && !t.startsWith('#');
    });
}

async function* counted(
  input: AsyncIterable<Buffer | string>,
  onBytes: ((bytes: number) => void) | undefined,
): AsyncGenerator<Buffer> {
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    onBytes?.(buffer.length);
    yield buffer;
  }
}

/** Bare hashes and JSON lines: split on newlines ourselves (several times faster than readline). */
async function* textLines(
  input: Readable,
  format: 'hashes' | 'jsonl',
  type: SignalType | undefined,
): AsyncGenerator<ParsedLine[]> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let line = 0;
  const parse = (text: string, into: ParsedLine[]): void => {
    line++;
    if (line === 1) text = text.replace(/^\uFEFF/, '');
    const parsed =
      format === 'hashes'
        ? parseHashLine(text, line, type as SignalType)
        : parseJsonLine(text, line, type);
    if (parsed !== undefined) into.push(parsed);
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const text = carry + decoder.write(chunk);
    const batch: ParsedLine[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      parse(text.slice(start, end), batch);
      start = end + 1;
    }
    carry = text.slice(start);
    if (batch.length > 0) yield batch;
  }
  carry += decoder.end();
  const last: ParsedLine[] = [];
  if (carry !== '') parse(carry, last);
  if (last.length > 0) yield last;
}

async function* csvLines(
  input: Readable,
  delimiter: string,
  type: SignalType | undefined,
): AsyncGenerator<ParsedLine[]> {
  const parser = input.pipe(
    parseCsv({
      delimiter,
      bom: true,
      info: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
    }),
  );
  let columns: ReturnType<typeof headerColumns> | undefined;
  let batch: ParsedLine[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (columns === undefined) {
        if (record.length > 0 && record[0].trimStart().startsWith('#')) continue;
        columns = headerColumns(record, type);
        continue;
      }
      const parsed = parseRecord(record, info.lines, columns, type);
      if (parsed !== undefined) batch.push(parsed);
      if (batch.length >= 1000) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } catch (error) {
    if (error instanceof TakedownError) throw error;
    const lines = (error as { lines?: number }).lines;
    throw new TakedownError(
      'unreadable-csv',
      `The file cannot be read as ${delimiter === '\t' ? 'TSV' : 'CSV'}${lines === undefined ? '' : ` at line ${lines}`}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
