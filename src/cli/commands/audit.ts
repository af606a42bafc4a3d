import type { Command } from 'commander';
import { verifyAuditChain } from '../../audit/verify.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { openDatabase } from '../../store/index.js';
import { EXIT_SOME_FAILED } from '../exit-codes.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The audit trail.');
  audit
    .command('verify')
    .description(
      'Check the whole hash chain of the audit trail; name the first entry that was changed or removed (exit 1).',
    )
    .option('--json', 'print the result as JSON')
    .action(verify);
}

async function verify(flags: { json?: boolean }): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(config, { logger: createLogger(config.logLevel) });
  let result;
  try {
    result = await verifyAuditChain(db);
  } finally {
    await db.destroy();
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else if (result.kind === 'intact') {
    process.stdout.write(
      `The audit trail is intact: ${result.entries} entries, each linked to the one before.\n` +
        `Head: entry ${result.head.seq}, hash ${result.head.hash}\n` +
        'Keep this head somewhere the database owner cannot change; a later run must extend it.\n',
    );
  } else {
    process.stdout.write(
      `The audit trail is BROKEN at entry ${result.seq}: ${result.reason}.\n` +
        `Entries 1 to ${result.entries} check out.\n`,
    );
  }
  if (result.kind === 'broken') process.exitCode = EXIT_SOME_FAILED;
}
