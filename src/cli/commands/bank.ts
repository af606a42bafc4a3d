import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { Option } from 'commander';
import type { Command } from 'commander';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import {
  BANK_TEXT_LIMITS,
  parseBankName,
  parseBankText,
  parsePdqThreshold,
} from '../../banks/banks.js';
import { exportEntries, exportLine } from '../../banks/export.js';
import { FORMAT_NAMES } from '../../banks/import-format.js';
import type { ImportResult } from '../../banks/import.js';
import { importEntries } from '../../banks/import.js';
import type { BankChanges, BankSummary } from '../../banks/queries.js';
import {
  bankSummary,
  createBank,
  disableBank,
  enableBank,
  getBank,
  listBanks,
  removeEntry,
  updateBank,
} from '../../banks/queries.js';
import type { SignalType } from '../../hash/signal.js';
import { SIGNAL_TYPES } from '../../hash/signal.js';
import { EXIT_SOME_FAILED } from '../exit-codes.js';
import { audited, cliAudit, recordAudit } from '../../audit/record.js';
import type { AuditEvent } from '../../audit/record.js';
import { shortDate, withDatabase } from './with-database.js';

/**
 * `takedown bank …`: hash banks. Results on standard output (a table, or
 * JSON with --json); progress and explanations on standard error.
 */
export function registerBank(program: Command): void {
  const bank = program
    .command('bank')
    .description(
      'Hash banks: named lists of known material (police, hotline, victim submissions) that the hash-check API matches against.',
    );
  const textOptions = (command: Command): Command =>
    command
      .option(
        '--category <category>',
        'what a match means, e.g. baseline (illegal everywhere) or national',
      )
      .option(
        '--source <source>',
        'where the list comes from, e.g. police, hotline, victim submissions',
      )
      .option('--description <text>', 'a sentence about the bank')
      .option(
        '--pdq-threshold <bits>',
        'largest PDQ distance that matches this bank (0-52; default 31)',
      );
  textOptions(
    bank
      .command('create')
      .description('Create a bank.')
      .argument(
        '<name>',
        'a short slug: lower-case letters, digits, ".", "_", "-" (e.g. police-nl)',
      ),
  ).action(create);
  textOptions(
    bank
      .command('update')
      .description("Change a bank's category, source, description or PDQ threshold.")
      .argument('<name>'),
  ).action(update);
  bank
    .command('list')
    .description('List banks with their entry counts.')
    .option('--json', 'print JSON')
    .action(list);
  bank
    .command('show')
    .description('Show one bank.')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(show);
  bank
    .command('import')
    .description(
      'Add the hashes of a file (or - for standard input) to a bank: bare hashes (one per line, with --type), CSV/TSV with a header naming "type" and "value" (also "note", "source", "addedAt"), or JSON lines as `bank export` writes. The format is detected. All or nothing: a file with a bad line adds nothing, unless --skip-invalid. Duplicates are merged.',
    )
    .argument('<name>', 'the bank')
    .argument('<file>', 'the file, or - for standard input')
    .addOption(
      new Option('--type <type>', 'the type of bare hashes, and of lines that name none').choices(
        SIGNAL_TYPES,
      ),
    )
    .option('--skip-invalid', 'import the valid lines of a file that has invalid ones')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExit status: 0 when imported, 1 when the file had invalid lines and nothing was imported, 2 on bad usage.',
    )
    .action(runImport);
  bank
    .command('export')
    .description(
      'Write a bank\'s entries as JSON lines ({"type","value","bank","category","addedAt","source"?,"note"?}), which `bank import` and `takedown scan --bank` read.',
    )
    .argument('<name>')
    .option('--output <file>', 'write to this file instead of standard output')
    .action(runExport);
  bank
    .command('disable')
    .description('Stop a bank matching, on every server within a second (its entries are kept).')
    .argument('<name>')
    .action(disable);
  bank
    .command('enable')
    .description('Let a disabled bank match again.')
    .argument('<name>')
    .action(enable);
  bank
    .command('remove-entry')
    .description(
      'Remove an entry (a false positive): it stops matching at once on every server, and importing its list again does not bring it back.',
    )
    .argument('<name>', 'the bank')
    .argument('<value>', 'the hash, in hex')
    .addOption(
      new Option(
        '--type <type>',
        'the hash type, when the value fits more than one (pdq and sha256)',
      ).choices(SIGNAL_TYPES),
    )
    .option('--reason <text>', 'why, kept with the entry')
    .action(runRemove);
}

interface TextFlags {
  category?: string;
  source?: string;
  description?: string;
  pdqThreshold?: string;
}

function bankChanges(flags: TextFlags): BankChanges {
  return {
    ...(flags.category === undefined
      ? {}
      : { category: parseBankText('category', flags.category, BANK_TEXT_LIMITS.category) }),
    ...(flags.source === undefined
      ? {}
      : { source: parseBankText('source', flags.source, BANK_TEXT_LIMITS.source) }),
    ...(flags.description === undefined
      ? {}
      : {
          description: parseBankText(
            'description',
            flags.description,
            BANK_TEXT_LIMITS.description,
          ),
        }),
    ...(flags.pdqThreshold === undefined
      ? {}
      : { pdqThreshold: parsePdqThreshold(flags.pdqThreshold, '--pdq-threshold') }),
  };
}

async function create(name: string, flags: TextFlags): Promise<void> {
  const input = { name: parseBankName(name), ...bankChanges(flags) };
  const bank = await withDatabase((db) =>
    audited(
      db,
      (trx) => createBank(trx, input),
      (b) => bankEvent('bank.create', b.name, { input }),
    ),
  );
  process.stdout.write(`Created bank ${bank.name} (${describe(bank)}).\n`);
}

async function update(name: string, flags: TextFlags): Promise<void> {
  const changes = bankChanges(flags);
  const bank = await withDatabase((db) =>
    audited(
      db,
      (trx) => updateBank(trx, name, changes),
      (b) => bankEvent('bank.update', b.name, { changes }),
    ),
  );
  process.stdout.write(`Updated bank ${bank.name} (${describe(bank)}).\n`);
}

function describe(bank: {
  category: string;
  source: string;
  pdqThreshold: number;
  enabled: boolean;
}): string {
  return [
    `category ${bank.category || '-'}`,
    `source ${bank.source || '-'}`,
    `PDQ threshold ${bank.pdqThreshold}`,
    bank.enabled ? 'enabled' : 'disabled',
  ].join(', ');
}

async function list(flags: { json?: boolean }): Promise<void> {
  const banks = await withDatabase((db) => listBanks(db));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(banks, null, 2)}\n`);
    return;
  }
  if (banks.length === 0) {
    process.stdout.write('No banks yet. Create one with `takedown bank create <name>`.\n');
    return;
  }
  const table = new Table({
    head: [
      'name',
      'category',
      'source',
      'enabled',
      'pdq',
      'md5',
      'sha1',
      'sha256',
      'threshold',
      'created',
    ],
  });
  for (const b of banks) {
    table.push([
      b.name,
      b.category,
      b.source,
      b.enabled ? 'yes' : 'no',
      count(b.entries.pdq),
      count(b.entries.md5),
      count(b.entries.sha1),
      count(b.entries.sha256),
      b.pdqThreshold,
      shortDate(b.createdAt),
    ]);
  }
  process.stdout.write(`${table.toString()}\n`);
}

async function show(name: string, flags: { json?: boolean }): Promise<void> {
  const bank: BankSummary = await withDatabase((db) => bankSummary(db, name));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(bank, null, 2)}\n`);
    return;
  }
  const e = bank.entries;
  process.stdout.write(
    [
      `Bank ${bank.name}${bank.enabled ? '' : ' (disabled)'}`,
      bank.description ? `  ${bank.description}` : undefined,
      `  category:       ${bank.category || '-'}`,
      `  source:         ${bank.source || '-'}`,
      `  PDQ threshold:  ${bank.pdqThreshold}`,
      `  entries:        ${count(e.total)} (pdq ${count(e.pdq)}, md5 ${count(e.md5)}, sha1 ${count(e.sha1)}, sha256 ${count(e.sha256)})`,
      `  removed:        ${count(bank.removedEntries)} (false positives; they stay out when their list is imported again)`,
      `  created:        ${shortDate(bank.createdAt)}, changed ${shortDate(bank.updatedAt)}`,
    ]
      .filter((line) => line !== undefined)
      .join('\n') + '\n',
  );
}

interface ImportFlags {
  type?: SignalType;
  skipInvalid?: boolean;
  json?: boolean;
}

async function runImport(name: string, file: string, flags: ImportFlags): Promise<void> {
  const stdin = file === '-';
  const size = stdin ? undefined : statSync(file).size;
  const input = stdin ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
  const started = performance.now();
  const bar = process.stderr.isTTY && size !== undefined ? byteBar(size) : undefined;
  let result: ImportResult;
  try {
    result = await withDatabase(async (db) => {
      const imported = await importEntries(db, name, input, {
        type: flags.type,
        skipInvalid: flags.skipInvalid,
        file: stdin ? undefined : file,
        onBytes: bar === undefined ? undefined : (n) => bar.increment(n),
        onFormat: (format) => {
          bar?.stop();
          process.stderr.write(
            `Reading ${stdin ? 'standard input' : file}: ${FORMAT_NAMES[format]} (detected).\n`,
          );
          bar?.start(size ?? 0, 0);
        },
        onMerge: (staged) => {
          bar?.stop();
          process.stderr.write(`Merging ${count(staged)} lines into bank ${name}...\n`);
        },
      });
      // Staged in many transactions, so recorded once it is done (issue 4).
      const { errors: _errors, ...facts } = imported;
      await recordAudit(db, {
        ...bankEvent('bank.entries-change', name, {
          import: { ...facts, file: stdin ? 'stdin' : file },
        }),
        outcome: imported.kind === 'imported' ? 'allowed' : 'failed',
      });
      return imported;
    });
  } finally {
    bar?.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ ...result, seconds: Number(seconds.toFixed(2)) }, null, 2)}\n`,
    );
  } else {
    reportErrors(result);
    if (result.kind === 'imported') {
      process.stdout.write(
        `Imported into ${result.bank}: ${count(result.added)} added, ${count(result.alreadyPresent)} already present, ` +
          `${count(result.duplicateLines)} duplicate lines, ${count(result.keptRemoved)} kept removed, ${count(result.invalid)} invalid ` +
          `(${count(result.lines)} lines, ${seconds.toFixed(1)} s).\n`,
      );
    }
  }
  if (result.kind === 'rejected') process.exitCode = EXIT_SOME_FAILED;
}

function reportErrors(result: ImportResult): void {
  if (result.invalid === 0) return;
  const shown = result.errors.slice(0, 20);
  const lines = shown.map((e) => `  line ${e.line}: ${e.reason}\n`).join('');
  const more =
    result.invalid > shown.length ? `  ... and ${count(result.invalid - shown.length)} more\n` : '';
  const valid = result.lines - result.invalid;
  const verdict =
    result.kind === 'rejected'
      ? `Nothing was imported. Fix these lines, or run again with --skip-invalid to import the ${count(valid)} valid lines.\n`
      : `Skipped ${count(result.invalid)} invalid lines (--skip-invalid).\n`;
  process.stderr.write(
    `${count(result.invalid)} of ${count(result.lines)} lines are invalid:\n${lines}${more}${verdict}`,
  );
}

/** Bytes read of the file, for imports of millions of lines. */
function byteBar(total: number): cliProgress.SingleBar {
  const started = Date.now();
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return new cliProgress.SingleBar({
    stream: process.stderr,
    clearOnComplete: true,
    format: (_options, params) => {
      const width = 24;
      const filled = Math.round((Math.min(params.value, total) / Math.max(total, 1)) * width);
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${mb(params.value)}/${mb(total)} MB | ${mb(params.value / seconds)} MB/s`;
    },
  });
}

async function runExport(name: string, flags: { output?: string }): Promise<void> {
  const out =
    flags.output === undefined ? process.stdout : createWriteStream(flags.output, { mode: 0o600 });
  let written = 0;
  await withDatabase(async (db) => {
    const bank = await getBank(db, name);
    let chunk = '';
    for await (const entry of exportEntries(db, bank)) {
      chunk += exportLine(entry);
      written++;
      if (chunk.length > 1 << 16) {
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
    if (chunk !== '' && !out.write(chunk)) await once(out, 'drain');
    await recordAudit(
      db,
      bankEvent('bank.export', bank.name, { entries: written, output: flags.output ?? 'stdout' }),
    );
  });
  if (out !== process.stdout) {
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
  process.stderr.write(
    `Exported ${count(written)} entries of bank ${name}${flags.output ? ` to ${flags.output}` : ''}.\n`,
  );
}

async function disable(name: string): Promise<void> {
  const bank = await withDatabase((db) =>
    audited(
      db,
      (trx) => disableBank(trx, name),
      (b) => bankEvent('bank.update', b.name, { enabled: false }),
    ),
  );
  process.stdout.write(
    `Bank ${bank.name} is disabled: it stops matching on every server within a second.\n`,
  );
}

async function enable(name: string): Promise<void> {
  const bank = await withDatabase((db) =>
    audited(
      db,
      (trx) => enableBank(trx, name),
      (b) => bankEvent('bank.update', b.name, { enabled: true }),
    ),
  );
  process.stdout.write(`Bank ${bank.name} is enabled.\n`);
}

async function runRemove(
  name: string,
  value: string,
  flags: { type?: SignalType; reason?: string },
): Promise<void> {
  const removed = await withDatabase((db) =>
    audited(
      db,
      (trx) => removeEntry(trx, name, { type: flags.type, value }, flags.reason),
      (r) =>
        bankEvent('bank.entries-change', r.bank, {
          removed: { type: r.type, value: r.value, entry: r.id },
          reason: flags.reason,
        }),
    ),
  );
  process.stdout.write(
    `Removed ${removed.type} ${removed.value} from bank ${removed.bank} (entry ${removed.id}); every server stops matching it within a second.\n`,
  );
}

function count(n: number): string {
  return n.toLocaleString('en');
}

/** An audit entry for a bank change made at the command line (issue 4). */
function bankEvent(action: string, bank: string, details: Record<string, unknown>): AuditEvent {
  return { ...cliAudit(), action, object: { type: 'bank', id: bank }, outcome: 'allowed', details };
}
