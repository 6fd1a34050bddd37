// The admin's upload area (/tmp in the shell and over SFTP), kept in the storage under uploads/.
// Paths typed by the admin are hostile input: `/tmp/dir/x.pem` or `x.pem` relative to /tmp, at
// most four safe names; anything else is refused before the storage is asked.
import { ParameterError } from '../errors.js';
import type { UploadArea } from '../services/interfaces.js';
import { AREAS, key, type Key } from './keys.js';
import type { Storage } from './storage.js';

const MAX_DEPTH = 4;

/** The storage key of a path as the admin shows it. */
function uploadKey(shown: string): Key {
  let rel = shown;
  if (rel.startsWith('/tmp/')) rel = rel.slice(5);
  else if (rel === '/tmp' || rel.startsWith('/')) throw new ParameterError(`Invalid path ${JSON.stringify(shown)}: files must be in /tmp`);
  const names = rel.split('/').filter((p) => p !== '');
  if (names.length === 0 || names.length > MAX_DEPTH) throw new ParameterError(`Invalid path ${JSON.stringify(shown)}: expected /tmp/<file>`);
  let k = AREAS.uploads;
  for (const n of names) k = key(k, n, 'path component');
  return k;
}

export class Uploads implements UploadArea {
  constructor(private readonly storage: Storage) {}

  read(shown: string, maxBytes: number): Buffer {
    const k = uploadKey(shown);
    const st = this.storage.stat(k);
    if (!st) throw new ParameterError(`No such file ${shown}`);
    if (st.kind !== 'value') throw new ParameterError(`${shown} is not a file`);
    if (st.size > maxBytes) throw new ParameterError(`${shown} is larger than ${maxBytes} bytes`);
    const data = this.storage.get(k);
    if (!data) throw new ParameterError(`No such file ${shown}`);
    return data;
  }

  write(name: string, data: string | Buffer): string {
    const shown = name.startsWith('/tmp/') ? name.slice(5) : name;
    this.storage.put(key(AREAS.uploads, shown), data);
    return `/tmp/${shown}`;
  }

  remove(shown: string): void {
    this.storage.delete(uploadKey(shown));
  }

  list(): string[] {
    return this.storage.list(AREAS.uploads).filter((n) => this.storage.stat(key(AREAS.uploads, n))?.kind === 'value');
  }
}
