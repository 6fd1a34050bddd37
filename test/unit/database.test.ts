// Opening the database: forward migrations, and refusal (never a reset) of a damaged,
// truncated or newer database.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase, DatabaseError } from '../../src/stores/database.js';
import { MIGRATIONS } from '../../schema/migrations.js';
import { tmpDir, testApp } from '../helpers/app.js';

t.test('a new database is migrated to the latest version, WAL and synchronous FULL', async (t) => {
  const dir = tmpDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase(path.join(dir, 'x.db'));
  t.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL');
  db.close();
  const again = openDatabase(path.join(dir, 'x.db'));
  t.equal(again.pragma('user_version', { simple: true }), MIGRATIONS.length, 'reopening migrates nothing twice');
  again.close();
});

t.test('garbage, truncated and newer databases are refused with the reason', async (t) => {
  const dir = tmpDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const garbage = path.join(dir, 'garbage.db');
  fs.writeFileSync(garbage, Buffer.alloc(8192, 0x41));
  try {
    openDatabase(garbage);
    t.fail('opened a garbage database');
  } catch (e) {
    t.ok(e instanceof DatabaseError, 'a DatabaseError');
  }
  t.throws(() => openDatabase(garbage), /cannot be used: .*refusing to start/);
  t.equal(fs.readFileSync(garbage).length, 8192, 'the damaged file is left as it was');

  const empty = path.join(dir, 'empty.db');
  fs.writeFileSync(empty, '');
  t.throws(() => openDatabase(empty), /is empty \(truncated\?\); refusing to start/);

  const newer = path.join(dir, 'newer.db');
  const db = new Database(newer);
  db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  db.close();
  t.throws(() => openDatabase(newer), /schema version \d+, newer than this software/);
});

t.test('a half-written database page is detected, not reset', async (t) => {
  const dir = tmpDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const app = testApp(t, { dataDir: path.join(dir, 'data') });
  await app.run('xConfiguration SystemUnit Name: keep-me\n', 'exec');
  await app.close();
  const file = path.join(dir, 'data', 'xway.db');
  // Checkpoint the WAL into the main file, then damage the table pages.
  const db = new Database(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const buf = fs.readFileSync(file);
  buf.fill(0xff, 4096, Math.min(buf.length, 4096 * 4));
  fs.writeFileSync(file, buf);
  t.throws(() => openDatabase(file), /refusing to start/);
});
