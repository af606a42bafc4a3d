import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { isTakedownError } from '../errors.js';
import { EXIT_SOME_FAILED, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { registerAudit } from './commands/audit.js';
import { registerBank } from './commands/bank.js';
import { registerDb } from './commands/db.js';
import { registerHash } from './commands/hash.js';
import { registerJobs } from './commands/jobs.js';
import { registerKey } from './commands/key.js';
import { registerProvider } from './commands/provider.js';
import { registerQueue } from './commands/queue.js';
import { registerReport } from './commands/report.js';
import { registerRules } from './commands/rules.js';
import { registerScan } from './commands/scan.js';
import { registerServe } from './commands/serve.js';
import { registerUser } from './commands/user.js';
import { registerWorker } from './commands/worker.js';

/** Every command module adds itself here. */
const COMMANDS: Array<(program: Command) => void> = [
  registerHash,
  registerServe,
  registerDb,
  registerJobs,
  registerScan,
  registerUser,
  registerAudit,
  registerBank,
  registerProvider,
  registerKey,
  registerReport,
  registerQueue,
  registerRules,
  registerWorker,
];

export function buildProgram(): Command {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  const program = new Command('takedown')
    .description('Takedown: hash, match and take down known child sexual abuse material.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI and returns the exit code; errors are explained on stderr, never as stacks. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    if (isTakedownError(error)) {
      process.stderr.write(`takedown: ${error.message}\n`);
      return exitCodeFor(error.kind);
    }
    process.stderr.write(
      `takedown: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    if (process.env.TAKEDOWN_DEBUG) console.error(error);
    return EXIT_SOME_FAILED;
  }
}
