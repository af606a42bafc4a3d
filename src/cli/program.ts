import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { isTakedownError } from '../errors.js';
import { EXIT_SOME_FAILED, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
type Register = (program: Command) => void;

/**
 * Every command, by name, loaded only when it runs: a command's module pulls
 * in what it needs (sharp, the database, the HTTP server), and `takedown
 * hash` in a script loop should not pay for all of them at every start.
 * A command module adds itself here.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  hash: async () => (await import('./commands/hash.js')).registerHash,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  db: async () => (await import('./commands/db.js')).registerDb,
  jobs: async () => (await import('./commands/jobs.js')).registerJobs,
  scan: async () => (await import('./commands/scan.js')).registerScan,
  user: async () => (await import('./commands/user.js')).registerUser,
  audit: async () => (await import('./commands/audit.js')).registerAudit,
  bank: async () => (await import('./commands/bank.js')).registerBank,
  provider: async () => (await import('./commands/provider.js')).registerProvider,
  key: async () => (await import('./commands/key.js')).registerKey,
  report: async () => (await import('./commands/report.js')).registerReport,
  queue: async () => (await import('./commands/queue.js')).registerQueue,
  rules: async () => (await import('./commands/rules.js')).registerRules,
  worker: async () => (await import('./commands/worker.js')).registerWorker,
};

/** The commands `argv` needs: the one it names (also after `help`), else all, for the overview. */
function commandsFor(argv: readonly string[]): string[] {
  const [first, second] = argv.slice(2);
  if (first === '--version' || first === '-V') return [];
  const named = first === 'help' ? second : first;
  return named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
}

export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  const program = new Command('takedown')
    .description('Takedown: hash, match and take down known child sexual abuse material.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const registers = await Promise.all(commandsFor(argv).map((name) => COMMANDS[name]()));
  for (const register of registers) register(program);
  return program;
}

/** Runs the CLI and returns the exit code; errors are explained on stderr, never as stacks. */
export async function runCli(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
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
