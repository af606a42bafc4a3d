import type { Command } from 'commander';

export function registerHash(program: Command): void {
  program
    .command('hash')
    .description('Hash files and folders: MD5, SHA-1, SHA-256 and, for images, PDQ.')
    .argument('<paths...>', 'files or folders (recursive)');
}
