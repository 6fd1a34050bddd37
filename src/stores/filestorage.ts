// The Storage contract (storage.ts) on the data directory, one file per key, in the layout the
// appliance has always used (certs/, trust/, acme/, uploads/), so an upgrade needs no migration.
// Writes are src/platform/files.ts atomicWrite: temp file in the same directory, whole write,
// fsync, rename, fsync of the directory. A prefix is deleted by one rename to a hidden trash name,
// then removed. Temp and trash names that a crash left behind are swept when the storage opens.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { atomicWrite, ensureDir, fsyncDir, removeDurably } from '../platform/files.js';
import { AREAS, isSafeName, parts, type Key } from './keys.js';
import { LockTable, type Lock, type PutOptions, type Storage, type StoredItem } from './storage.js';

/** What atomicWrite leaves when killed: `.<name>.<12 hex>.tmp`. */
const TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;
/** What a killed prefix delete leaves. */
const TRASH = /^\.trash-[0-9a-f]{12}$/;
/** Deep enough for every layout below the areas (certs/domains/<name>/<generation>/<file>). */
const SWEEP_DEPTH = 6;

export class FileStorage implements Storage {
  private readonly locks = new LockTable();
  private readonly realRoot: string;

  /** Opens (creating) the data directory's areas and sweeps what a crash left in them. */
  constructor(readonly root: string) {
    ensureDir(root);
    for (const area of Object.values(AREAS)) {
      const dir = this.file(area);
      ensureDir(dir);
      sweep(dir, SWEEP_DEPTH);
    }
    this.realRoot = fs.realpathSync(root);
  }

  /** The file behind a key (for tools that must hand a path to a third party, e.g. SFTP). */
  file(k: Key): string {
    return path.join(this.root, ...parts(k));
  }

  get(k: Key): Buffer | undefined {
    const file = this.inside(k);
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') return undefined;
      throw e;
    }
  }

  put(k: Key, value: string | Buffer, opts: PutOptions = {}): void {
    const file = this.file(k);
    this.makeParents(path.dirname(file));
    atomicWrite(file, value, { mode: opts.secret === false ? 0o644 : 0o600 });
  }

  delete(k: Key): void {
    const file = this.file(k);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    if (!st.isDirectory()) return removeDurably(file);
    const dir = path.dirname(file);
    const trash = path.join(dir, `.trash-${crypto.randomBytes(6).toString('hex')}`);
    fs.renameSync(file, trash);
    fsyncDir(dir);
    fs.rmSync(trash, { recursive: true, force: true });
  }

  list(prefix: Key): string[] {
    const dir = this.inside(prefix);
    if (!dir) return [];
    try {
      return fs.readdirSync(dir).filter(isSafeName).sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw e;
    }
  }

  stat(k: Key): StoredItem | undefined {
    const file = this.inside(k);
    if (!file) return undefined;
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    if (st.isFile()) return { kind: 'value', size: st.size, modified: st.mtimeMs };
    if (st.isDirectory()) return { kind: 'prefix', size: 0, modified: st.mtimeMs };
    return undefined;
  }

  tryLock(name: string): Lock | undefined {
    return this.locks.tryLock(name);
  }

  /** The key's file with links resolved, when it exists and stays inside the root; else undefined. */
  private inside(k: Key): string | undefined {
    let real: string;
    try {
      real = fs.realpathSync(this.file(k));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw e;
    }
    return real === this.realRoot || real.startsWith(this.realRoot + path.sep) ? real : undefined;
  }

  /** Creates missing directories down to `dir`, each made durable in its parent; refuses links out. */
  private makeParents(dir: string): void {
    if (fs.existsSync(dir)) {
      const real = fs.realpathSync(dir);
      if (real !== this.realRoot && !real.startsWith(this.realRoot + path.sep)) {
        throw Object.assign(new Error(`${dir} leads outside the data directory`), { code: 'EACCES' });
      }
      return;
    }
    this.makeParents(path.dirname(dir));
    fs.mkdirSync(dir, { mode: 0o700 });
    fsyncDir(path.dirname(dir));
  }
}

/** Removes temp files and trash a crash left under `dir`; follows no links. */
function sweep(dir: string, depth: number): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isFile() && TEMP.test(e.name)) fs.rmSync(full, { force: true });
    else if (e.isDirectory() && TRASH.test(e.name)) fs.rmSync(full, { recursive: true, force: true });
    else if (e.isDirectory() && depth > 1) sweep(full, depth - 1);
  }
}
