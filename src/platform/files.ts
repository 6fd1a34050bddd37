// The only place that writes files. Every write is atomic and durable: temp file in the same
// directory, fsync, rename over the target, fsync the directory. A crash at any instant leaves
// either the old file or the new one, never a torn one. A write that cannot be completed (a full
// disk gives short writes before ENOSPC) throws before the rename, so the old file stays.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export interface WriteOptions {
  /** File mode: 0o600 for keys and secrets, 0o644 for certificates. */
  mode: number;
}

/** Makes a rename or unlink in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** write(2) may store fewer bytes than asked (near ENOSPC): loop until all are written or it fails. */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.writeSync(fd, buf, off, buf.length - off);
    if (n <= 0) throw Object.assign(new Error('write stored no bytes'), { code: 'ENOSPC' });
    off += n;
  }
}

export function atomicWrite(file: string, data: string | Buffer, opts: WriteOptions): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', opts.mode);
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fchmodSync(fd, opts.mode);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

export function ensureDir(dir: string, mode = 0o700): void {
  fs.mkdirSync(dir, { recursive: true, mode });
}

export function readIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function removeDurably(file: string): void {
  fs.rmSync(file, { force: true });
  fsyncDir(path.dirname(file));
}
