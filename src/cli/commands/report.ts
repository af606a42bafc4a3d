import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemActor } from '../../audit/index.js';
import { loadConfig } from '../../config.js';
import { TakedownError } from '../../errors.js';
import type { ReportImportResult } from '../../intake/import.js';
import { importReports } from '../../intake/import.js';
import { jobQueueFor } from '../../pipeline/job-queue.js';
import { EXIT_SOME_FAILED } from '../exit-codes.js';
import { withDatabase } from './with-database.js';

/** `takedown report import`: reports from a CSV file, for analysts. */
export function registerReport(program: Command): void {
  const report = program.command('report').description('Reports: import them from a file.');
  report
    .command('import')
    .description(
      'Import reports from a CSV file (comma, semicolon or tab separated) with a header naming "url" and optionally "description" and "reference"; lines sharing a reference are one report. ' +
        'All or nothing: a file with an invalid line imports nothing, unless --skip-invalid. Importing the same file again adds nothing twice. The work is queued for the pipeline at once.',
    )
    .argument('<file>', 'the CSV file')
    .option('--skip-invalid', 'import the valid lines of a file that has invalid ones')
    .option('--json', 'print the result (every line) as JSON')
    .addHelpText(
      'after',
      '\nPrints one line per imported report: its first line in the file, its tracking code, and whether its URLs opened new cases.\n' +
        'Exit status: 0 when imported, 1 when the file had invalid lines and nothing was imported, 2 on bad usage.',
    )
    .action(runImport);
}

async function runImport(
  file: string,
  flags: { skipInvalid?: boolean; json?: boolean },
): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new TakedownError(
      'cannot-read-file',
      `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
    );
  }
  const config = loadConfig();
  const result = await withDatabase((db) =>
    importReports(
      db,
      jobQueueFor(db),
      { name: path.basename(file), bytes },
      {
        skipInvalid: flags.skipInvalid === true,
        maxUrls: config.reportMaxUrls,
        actor: systemActor(`cli:${os.userInfo().username}`),
      },
    ),
  );
  if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else print(result, file);
  if (result.kind === 'rejected') process.exitCode = EXIT_SOME_FAILED;
}

function print(result: ReportImportResult, file: string): void {
  const count = (n: number) => n.toLocaleString('en');
  if (result.errors.length > 0) {
    const shown = result.errors.slice(0, 20);
    const more =
      result.errors.length > shown.length
        ? `  ... and ${count(result.errors.length - shown.length)} more (--json lists all)\n`
        : '';
    const verdict =
      result.kind === 'rejected'
        ? 'Nothing was imported. Fix these lines, or run again with --skip-invalid to import the others.\n'
        : `Skipped ${count(result.invalid)} invalid lines (--skip-invalid).\n`;
    process.stderr.write(
      `${count(result.invalid)} of ${count(result.lines)} lines are invalid:\n` +
        shown.map((e) => `  line ${e.line}: ${e.reason}\n`).join('') +
        more +
        verdict,
    );
  }
  if (result.kind === 'rejected') return;
  for (const r of result.results) {
    const what = r.duplicate
      ? 'already imported'
      : `${r.urls} URL${r.urls === 1 ? '' : 's'}, ${r.newCases} new case${r.newCases === 1 ? '' : 's'}`;
    process.stdout.write(`line ${r.line}\t${r.trackingCode}\t${what}\n`);
  }
  process.stderr.write(
    `Imported ${count(result.reports)} reports from ${file}: ${count(result.newCases)} new cases, ` +
      `${count(result.joinedCases)} URLs joined open cases, ${count(result.duplicates)} already imported before.\n`,
  );
}
