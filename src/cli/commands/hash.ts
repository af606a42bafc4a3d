import { Option, InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import Table from 'cli-table3';
import pc from 'picocolors';
import { once } from 'node:events';
import { loadConfig } from '../../config.js';
import type { PdqSemantics } from '../../hash/pdq.js';
import { PDQ_SEMANTICS } from '../../hash/pdq.js';
import type { OutputFormat, RecordFormatter } from '../../hash/file/format.js';
import { OUTPUT_FORMATS, recordFormatter } from '../../hash/file/format.js';
import { countEntries, walk } from '../../hash/file/walk.js';
import { startProgress } from '../progress.js';
import { EXIT_OK, EXIT_SOME_FAILED } from '../exit-codes.js';

export interface HashCommandOptions {
  readonly format?: OutputFormat;
  readonly variants?: boolean;
  readonly pdqSemantics: PdqSemantics;
  readonly maxPixels?: number;
  readonly jobs?: number;
}

/** The streams the command writes to: the process's, or a test's. */
export interface HashCommandIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Record<string, string | undefined>;
}

export function registerHash(program: Command): void {
  program
    .command('hash')
    .description(
      'Hash files and folders (recursively): MD5, SHA-1, SHA-256 and, for images recognised by their content, PDQ.',
    )
    .argument('<paths...>', 'files or folders')
    .addOption(
      new Option(
        '--format <format>',
        'output: one record per line (default: a table on a terminal, jsonl otherwise)',
      ).choices(OUTPUT_FORMATS),
    )
    .option('--variants', 'add the 8 rotated and mirrored PDQ hashes')
    .addOption(
      new Option(
        '--pdq-semantics <semantics>',
        'fullres (as hash lists use) or cli (the reference tool)',
      )
        .choices(PDQ_SEMANTICS)
        .default('fullres'),
    )
    .option('--max-pixels <n>', 'refuse larger images (default: TAKEDOWN_MAX_PIXELS)', positiveInt)
    .option('--jobs <n>', 'worker threads (default: one per core)', positiveInt)
    .addHelpText(
      'after',
      '\nExit status: 0 when every file was hashed, 1 when some could not be (each has an "error" in the output), 2 on bad usage.',
    )
    .action(async (paths: string[], options: HashCommandOptions) => {
      process.exitCode = await runHash(paths, options, {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
      });
    });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('must be a whole number of at least 1.');
  }
  return n;
}

/** A table for people at a terminal; jsonl for programs reading a pipe or file. */
export function chooseFormat(
  explicit: OutputFormat | undefined,
  stdoutIsTty: boolean,
): OutputFormat | 'table' {
  return explicit ?? (stdoutIsTty ? 'table' : 'jsonl');
}

/** Hashes every path and writes records as they complete, in walk order. Returns the exit code. */
export async function runHash(
  paths: readonly string[],
  options: HashCommandOptions,
  io: HashCommandIo,
): Promise<number> {
  const config = loadConfig(io.env);
  const format = chooseFormat(options.format, io.stdout.isTTY === true);
  const write = lineWriter(io.stdout);
  // The total comes from a second, listing-only walk alongside the hashing.
  const progress = io.stderr.isTTY
    ? startProgress(io.stderr, {
        unit: 'files',
        count: (signal) => countEntries(paths, { signal }),
      })
    : undefined;
  const output: RecordFormatter =
    format === 'table'
      ? tableFormatter(io.stdout.columns ?? 120)
      : recordFormatter(format, { variants: options.variants });
  const started = Date.now();
  let files = 0;
  let failed = 0;
  try {
    // Rows and the bar share the terminal: wipe the bar, print, let it redraw.
    if (progress && io.stdout.isTTY) progress.clearLine();
    await write(output.header);
    // Loaded here, not at start-up: other commands need no sharp or workers.
    const { hashFiles } = await import('../../hash/file/hash-files.js');
    const records = hashFiles(walk(paths), {
      semantics: options.pdqSemantics,
      variants: options.variants,
      maxPixels: options.maxPixels ?? config.maxPixels,
      maxImageBytes: config.maxImageBytes,
      jobs: options.jobs,
    });
    for await (const record of records) {
      files++;
      if (record.error) failed++;
      if (progress && io.stdout.isTTY) progress.clearLine();
      // False when the reader went away (`| head`): stop hashing.
      if (!(await write(output.line(record)))) break;
      progress?.tick(record.error !== undefined);
    }
  } finally {
    progress?.stop();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failed > 0) {
    io.stderr.write(
      `takedown: ${failed} of ${files} ${files === 1 ? 'file' : 'files'} could not be hashed fully; each has an "error" (code and message) in the output.\n`,
    );
    return EXIT_SOME_FAILED;
  }
  if (io.stderr.isTTY)
    io.stderr.write(`Hashed ${files} ${files === 1 ? 'file' : 'files'} in ${seconds} s.\n`);
  return EXIT_OK;
}

/**
 * Writes a line, waiting when the stream's buffer is full so that output to
 * a slow reader never piles up in memory. Resolves false once the stream is
 * broken (EPIPE when the reader exits).
 */
function lineWriter(stream: NodeJS.WritableStream): (text: string) => Promise<boolean> {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return async (text) => {
    if (broken) return false;
    if (text !== '' && !stream.write(text)) {
      await Promise.race([once(stream, 'drain'), once(stream, 'error')]).catch(() => undefined);
    }
    return !broken;
  };
}

/**
 * Rows of a borderless table with fixed column widths, rendered one at a time
 * so that a huge folder streams instead of being collected first.
 */
function tableFormatter(columns: number): RecordFormatter {
  const fixed = { size: 10, sha: 18, pdq: 66, quality: 4 };
  const rest = Math.max(30, columns - (fixed.size + fixed.sha + fixed.pdq + fixed.quality));
  const pathWidth = Math.max(16, Math.min(60, Math.floor(rest * 0.6)));
  const noteWidth = Math.max(12, rest - pathWidth);
  const colWidths = [pathWidth, fixed.size, fixed.sha, fixed.pdq, fixed.quality, noteWidth];
  const make = (head?: string[]) =>
    new Table({
      ...(head ? { head } : {}),
      colWidths,
      wordWrap: false,
      truncate: '…',
      chars: Object.fromEntries(
        [
          'top',
          'top-mid',
          'top-left',
          'top-right',
          'bottom',
          'bottom-mid',
          'bottom-left',
          'bottom-right',
          'left',
          'left-mid',
          'mid',
          'mid-mid',
          'right',
          'right-mid',
          'middle',
        ].map((name) => [name, '']),
      ),
      style: { head: ['bold'], border: [], 'padding-left': 0, 'padding-right': 1 },
    });
  const header = make(['PATH', 'SIZE', 'SHA-256', 'PDQ', 'Q', 'NOTE']);
  return {
    header: `${header.toString()}\n`,
    line(record) {
      const table = make();
      table.push([
        shortenLeft(record.path, pathWidth - 1),
        record.bytes === undefined ? '' : humanBytes(record.bytes),
        record.sha256 ? `${record.sha256.slice(0, 16)}…` : '',
        record.pdq ?? '',
        record.pdqQuality === undefined ? '' : String(record.pdqQuality),
        record.error
          ? pc.red(`${record.error.code}: ${record.error.message}`)
          : (record.format ?? ''),
      ]);
      return `${table.toString()}\n`;
    },
  };
}

/** Keeps the end of a long path: the file name matters more than the root. */
function shortenLeft(text: string, width: number): string {
  return text.length <= width ? text : `…${text.slice(text.length - width + 1)}`;
}

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}
