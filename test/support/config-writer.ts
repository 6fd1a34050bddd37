// Child process for the crash test: writes configuration values as fast as it can and prints
// the number of every write that returned (was acknowledged). The parent kills it with SIGKILL.
import { openDatabase } from '../../src/stores/database.js';
import { SqliteConfigStore } from '../../src/stores/config.js';
import { Configuration } from '../../src/services/config/configuration.js';
import { CONFIG } from '../../schema/config.js';
import { STATUS } from '../../schema/status.js';
import { Registry } from '../../src/bus/registry.js';
import { Logger } from '../../src/platform/log.js';
import fs from 'node:fs';

const file = process.argv[2]!;
const start = Number(process.argv[3] ?? 0);
const db = openDatabase(file);
const reg = new Registry(CONFIG, STATUS, []);
const store = new Configuration({ store: new SqliteConfigStore(db), declared: reg.allConfig(), logger: new Logger({ write: () => {} }) });
const actor = { user: 'crash', role: 'Admin' as const, remote: 'test', session: 'c' };
for (let i = start; i < start + 1_000_000; i++) {
  // Two keys in one transaction: after a crash both must show the same generation.
  store.set([{ key: 'SystemUnit Name', value: `n${i}` }, { key: 'Ssh IdleTimeout', value: i % 86400 }], actor);
  fs.writeSync(1, `${i}\n`);
}
