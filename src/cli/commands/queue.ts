import Table from 'cli-table3';
import type { Command } from 'commander';
import { queueOverview } from '../../pipeline/overview.js';
import type { QueueOverview } from '../../pipeline/overview.js';
import { positiveNumber, shortDate, withDatabase } from './with-database.js';

/**
 * `takedown queue`: a quick look at the pipeline from the command line: how
 * many items and cases are in each state, its jobs, and the oldest work
 * waiting for an analyst. URLs only; media is never shown here.
 */
export function registerQueue(program: Command): void {
  program
    .command('queue')
    .description(
      'Show the report pipeline: items and cases by state, its jobs, and the oldest media items and URLs waiting for an analyst.',
    )
    .option('--limit <n>', 'how many waiting items and URLs to list', positiveNumber, 20)
    .option('--json', 'print JSON')
    .action(show);
}

async function show(flags: { limit: number; json?: boolean }): Promise<void> {
  const overview = await withDatabase((db) => queueOverview(db, Math.min(flags.limit, 1000)));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(overview, null, 2)}\n`);
    return;
  }
  process.stdout.write(render(overview));
}

export function render(o: QueueOverview): string {
  const counts = (record: Readonly<Record<string, number>>) =>
    Object.keys(record).length === 0
      ? 'none'
      : Object.entries(record)
          .map(([state, n]) => `${n.toLocaleString('en')} ${state}`)
          .join(', ');
  const lines = [
    `Media items: ${counts(o.items)}`,
    `Open cases (reported URLs): ${counts(o.cases)}`,
    `Jobs: ${
      Object.keys(o.jobs).length === 0
        ? 'none'
        : Object.entries(o.jobs)
            .map(
              ([name, j]) => `${name} ${j.pending} pending, ${j.running} running, ${j.dead} dead`,
            )
            .join('; ')
    }`,
    '',
  ];
  if (o.queuedItems.length === 0) lines.push('No media items wait for an analyst.');
  else {
    const table = new Table({
      head: [
        'item',
        'queued',
        'type',
        'bytes',
        'pdq q',
        'note',
        'reports',
        'analyst',
        'media URL',
        'page',
      ],
    });
    for (const item of o.queuedItems) {
      table.push([
        item.id,
        shortDate(item.queuedAt),
        item.sniffed ?? '',
        item.sizeBytes?.toLocaleString('en') ?? '',
        item.pdqQuality ?? '',
        item.hashError ?? (item.matches > 0 ? `${item.matches} weak match(es)` : ''),
        item.reportCount,
        [
          item.reviewStage === 'second-opinion' ? '2nd opinion due' : item.reviewStage,
          item.claimedBy === null ? null : `held by ${item.claimedBy}`,
        ]
          .filter((part) => part !== null)
          .join(', '),
        shorten(item.url),
        shorten(item.pageUrl),
      ]);
    }
    lines.push(`Oldest media items waiting for an analyst:\n${table.toString()}`);
  }
  if (o.queuedCases.length > 0) {
    const table = new Table({ head: ['case', 'reported', 'why', 'reports', 'URL'] });
    for (const c of o.queuedCases)
      table.push([
        c.id,
        shortDate(c.lastReportedAt),
        c.reason ?? '',
        c.reportCount,
        shorten(c.url),
      ]);
    lines.push(`URLs an analyst must look at themselves:\n${table.toString()}`);
  }
  return `${lines.join('\n')}\n`;
}

function shorten(url: string): string {
  return url.length > 60 ? `${url.slice(0, 57)}...` : url;
}
