// Kill -9 during a stream of configuration writes: the database stays intact, every
// acknowledged write is there, and no transaction is ever half applied.
import t from 'tap';
import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { tmpDir } from '../helpers/app.js';
import { findRoot } from '../../src/platform/version.js';

const ROUNDS = 25;
const writer = path.join(findRoot(), 'dist/test/support/config-writer.js');

function round(file: string, start: number, killAfterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, file, String(start)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let last = -1;
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) last = Number(l);
    });
    // Kill once it has acknowledged something (or after a bound), at a random moment after that.
    const deadline = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const poll = setInterval(() => {
      if (last >= start) {
        clearInterval(poll);
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    }, 5);
    child.on('exit', (_code, signal) => {
      clearTimeout(deadline);
      clearInterval(poll);
      if (signal !== 'SIGKILL') reject(new Error(`writer ended by itself (${signal})`));
      else resolve(last);
    });
  });
}

t.test(`kill -9 during configuration writes, ${ROUNDS} rounds`, async (t) => {
  const dir = tmpDir();
  t.teardown(() => void import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
  const file = path.join(dir, 'xway.db');
  let next = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const acked = await round(file, next, 5 + Math.floor(Math.random() * 60));
    t.ok(acked >= next, `round ${r}: writes were acknowledged`);
    const db = new Database(file);
    t.equal(db.pragma('integrity_check', { simple: true }), 'ok', `round ${r}: integrity_check`);
    const rows = Object.fromEntries((db.prepare('SELECT key, value FROM config').all() as { key: string; value: string }[]).map((x) => [x.key, x.value]));
    db.close();
    const stored = Number(rows['SystemUnit Name']!.slice(1));
    t.ok(stored >= acked, `round ${r}: acknowledged write ${acked} is there (stored ${stored})`);
    t.equal(Number(rows['Ssh IdleTimeout']), stored % 86400, `round ${r}: both keys of one transaction agree`);
    next = stored + 1;
  }
});
