// Every path on disk is built here. Names coming from users (file names in the upload area,
// domain names used as directory names) are hostile input: only a plain, short name of safe
// characters is accepted; `..`, separators, NUL, leading dots and links out are refused.
import fs from 'node:fs';
import path from 'node:path';
import { ParameterError } from '../errors.js';

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.includes('..');
}

/** Joins a safe name under `base`; throws ParameterError naming the input otherwise. */
export function child(base: string, name: string, what = 'file name'): string {
  if (!isSafeName(name)) {
    throw new ParameterError(`Invalid ${what} ${JSON.stringify(name)}: expected letters, digits, . _ - (no path)`);
  }
  return path.join(base, name);
}

/** The fixed layout of the data directory. */
export class DataPaths {
  constructor(readonly root: string) {}
  get database(): string { return path.join(this.root, 'xway.db'); }
  get hostKeys(): string { return path.join(this.root, 'ssh'); }
  get certs(): string { return path.join(this.root, 'certs'); }
  get trust(): string { return path.join(this.root, 'trust'); }
  get acme(): string { return path.join(this.root, 'acme'); }
  /** The admin's upload area, shown as /tmp in the shell and over SFTP. */
  get uploads(): string { return path.join(this.root, 'uploads'); }
  get logs(): string { return path.join(this.root, 'logs'); }
  get adminPasswordFile(): string { return path.join(this.root, 'admin-password'); }
}

/**
 * Maps a path as the admin sees it (`/tmp/dir/x.pem`, or `x.pem` relative to /tmp) onto the
 * upload area. Every component must be a safe name; the result, with links resolved, must still
 * be inside the area.
 */
export function resolveUpload(uploads: string, shown: string): string {
  let rel = shown;
  if (rel.startsWith('/tmp/')) rel = rel.slice(5);
  else if (rel === '/tmp' || rel.startsWith('/')) throw new ParameterError(`Invalid path ${JSON.stringify(shown)}: files must be in /tmp`);
  const parts = rel.split('/').filter((p) => p !== '');
  if (parts.length === 0 || parts.length > 4) throw new ParameterError(`Invalid path ${JSON.stringify(shown)}: expected /tmp/<file>`);
  let cur = uploads;
  for (const p of parts) cur = child(cur, p, 'path component');
  let real: string;
  try {
    real = fs.realpathSync(cur);
  } catch {
    throw new ParameterError(`No such file ${shown}`);
  }
  const base = fs.realpathSync(uploads);
  if (real !== base && !real.startsWith(base + path.sep)) throw new ParameterError(`Invalid path ${JSON.stringify(shown)}: it leads outside /tmp`);
  return real;
}
