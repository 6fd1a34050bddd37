// Issue 13.2: near a full disk, a short write was fsynced and renamed into place as if whole (a
// 100 kB upload kept 12,288 bytes; a CA Add cut the trust bundle mid-certificate and the next start
// refused the data directory). Every write is whole or fails; a full or read-only disk is one
// sentence and changes nothing. The data directory lives on a small tmpfs mounted by the test.
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildApp } from '../../src/app.js';
import { memorySink } from '../../src/platform/log.js';
import { atomicWrite } from '../../src/platform/files.js';
import { runSession } from '../helpers/app.js';
import { makeCa } from '../helpers/pki.js';

const isRoot = process.getuid?.() === 0;

function mountTmpfs(t: Tap.Test, size: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-small-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount tmpfs failed: ${r.stderr}`);
  t.teardown(() => {
    spawnSync('umount', ['-l', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fills the file system holding `dir` until `leave` bytes remain free (0: completely full). */
function fill(dir: string, leave: number): string {
  const filler = path.join(dir, 'filler');
  const st = fs.statfsSync(dir);
  const free = st.bavail * st.bsize;
  const fd = fs.openSync(filler, 'w');
  try {
    let want = Math.max(0, free - leave);
    const chunk = Buffer.alloc(64 * 1024, 1);
    while (want > 0) {
      const n = fs.writeSync(fd, chunk, 0, Math.min(chunk.length, want));
      want -= n;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const tmpFiles = (d: string) => fs.readdirSync(d).filter((n) => n.endsWith('.tmp'));

function boot(dir: string) {
  return buildApp({ dataDir: dir, adminPassword: 'correct horse battery', logSink: memorySink(), announce: () => {} });
}

const run = async (app: ReturnType<typeof boot>, input: string): Promise<string> => (await runSession(app, input)).out;

t.test('atomicWrite: a write that does not fit fails whole and the old file stays', { skip: !isRoot && 'needs root to mount a tmpfs' }, async (t) => {
  const dir = mountTmpfs(t, '256k');
  const file = path.join(dir, 'upload.pem');
  atomicWrite(file, 'old contents\n', { mode: 0o600 });
  const filler = fill(dir, 12 * 1024);
  t.throws(() => atomicWrite(file, Buffer.alloc(100 * 1024, 0x41), { mode: 0o600 }), { code: 'ENOSPC' });
  t.equal(fs.readFileSync(file, 'utf8'), 'old contents\n', 'the previous file is intact');
  t.same(tmpFiles(dir), [], 'no temp file left behind');
  fs.rmSync(filler);
  atomicWrite(file, Buffer.alloc(100 * 1024, 0x41), { mode: 0o600 });
  t.equal(fs.statSync(file).size, 100 * 1024, 'with room, all bytes are written');
});

t.test('CA Add and a configuration change on a full disk: one sentence, nothing changed, next start fine', { skip: !isRoot && 'needs root to mount a tmpfs' }, async (t) => {
  const dir = mountTmpfs(t, '4m');
  let app = boot(dir);
  const count = app.services.trust.count();
  const bundle = path.join(dir, 'trust', 'ca-bundle.pem');
  const before = sha(bundle);
  const cas = await Promise.all(Array.from({ length: 20 }, (_, i) => makeCa({ cn: `Full Disk Root ${i}` })));
  // Room for a short write, not for the whole new bundle: the case that used to tear it.
  let filler = fill(dir, 12 * 1024);
  let out = await run(app, `xCommand Security Certificates CA Add\n${cas.map((c) => c.pem).join('')}.\n`);
  t.match(out, /\(status=Error\):\n\s+Reason: "The data disk is full: nothing was changed"\n/);
  t.equal(app.services.trust.count(), count, 'the list in memory is unchanged');
  t.equal(sha(bundle), before, 'the bundle on disk is unchanged');
  t.same(tmpFiles(path.join(dir, 'trust')), [], 'no temp file left behind');

  // Completely full: SQLite cannot grow its log either.
  fs.rmSync(filler);
  filler = fill(dir, 0);
  const name = app.services.config.get('SystemUnit Name');
  out = await run(app, 'xConfiguration SystemUnit Name: "x'.padEnd(48, 'y') + '"\n');
  if (/status=Error/.test(out)) {
    t.match(out, /Reason: "The data disk is full: nothing was changed"/);
    t.equal(app.services.config.get('SystemUnit Name'), name, 'the name is unchanged');
  } else {
    t.pass('SQLite had room left in its log; the change is durable');
  }
  await app.close();
  fs.rmSync(filler);

  app = boot(dir);
  t.teardown(() => app.close());
  t.equal(app.services.trust.count(), count, 'the next start loads the whole list');
  out = await run(app, `xCommand Security Certificates CA Add\n${cas.map((c) => c.pem).join('')}.\n`);
  t.match(out, /\(status=OK\)/, 'with room again, the same CA Add works');
  t.equal(app.services.trust.count(), count + 20);
});

t.test('a read-only data directory: one sentence, nothing changed', { skip: !isRoot && 'needs root to mount a tmpfs' }, async (t) => {
  const dir = mountTmpfs(t, '4m');
  const app = boot(dir);
  t.teardown(() => app.close());
  const ca = await makeCa({ cn: 'Read Only Root' });
  const count = app.services.trust.count();
  // The database keeps files open, so the trust directory alone becomes a read-only bind mount.
  const trust = path.join(dir, 'trust');
  t.equal(spawnSync('mount', ['--bind', trust, trust]).status, 0, 'bind-mounted');
  t.teardown(() => void spawnSync('umount', [trust]));
  t.equal(spawnSync('mount', ['-o', 'remount,bind,ro', trust]).status, 0, 'remounted read-only');
  const out = await run(app, `xCommand Security Certificates CA Add\n${ca.pem}.\n`);
  t.match(out, /Reason: "The data disk is not writable: nothing was changed"/);
  t.equal(app.services.trust.count(), count);
});
