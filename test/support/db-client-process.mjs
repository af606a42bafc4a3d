// A second process using a data folder's embedded database, as a CLI command
// would: `node db-client-process.mjs <dataDir> <name> <mode> [count]`.
// Runs the built code in dist/ (npm test builds it first).
//   work   write <count> keys (half in transactions, some rolled back), read each back
//   own    open the folder (as its owner when nobody has it), write <count> keys,
//          print "written", then wait to be killed
import { createLogger } from '../../dist/src/log.js';
import { openDatabase, readSetting, writeSetting } from '../../dist/src/store/index.js';

const [dataDir, name, mode, countText = '50'] = process.argv.slice(2);
const count = Number(countText);
const db = await openDatabase(
  { dataDir, databaseUrl: undefined, dbPoolSize: 1, shutdownGraceMs: 1000 },
  { logger: createLogger('warn', name), command: `test ${name}` },
);
let mismatches = 0;
for (let i = 0; i < count; i += 1) {
  const key = `${name}-${i}`;
  if (mode === 'work' && i % 2 === 1) {
    await db.transaction().execute(async (trx) => {
      await writeSetting(trx, key, { by: name, i });
      await writeSetting(trx, `${key}-pair`, i);
    });
    const rolledBack = await db
      .transaction()
      .execute(async (trx) => {
        await writeSetting(trx, `${key}-never`, i);
        throw new Error('roll back');
      })
      .catch(() => 'rolled back');
    if (rolledBack !== 'rolled back' || (await readSetting(db, `${key}-never`)) !== undefined)
      mismatches += 1;
  } else {
    await writeSetting(db, key, { by: name, i });
  }
  const back = await readSetting(db, key);
  if (back?.by !== name || back?.i !== i) mismatches += 1;
}
process.stdout.write(`${JSON.stringify({ name, written: count, mismatches })}\n`);
if (mode === 'own') {
  process.stdout.write('written\n');
  setInterval(() => undefined, 1000);
} else {
  await db.destroy();
}
