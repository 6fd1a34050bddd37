// The admin's upload area (/tmp in the shell and over SFTP).
import fs from 'node:fs';
import { ParameterError } from '../errors.js';
import { resolveUpload, child } from '../platform/paths.js';
import { atomicWrite, removeDurably } from '../platform/files.js';
import type { UploadArea } from './interfaces.js';

export class Uploads implements UploadArea {
  constructor(private readonly dir: string) {}

  read(shown: string, maxBytes: number): Buffer {
    const real = resolveUpload(this.dir, shown);
    const st = fs.statSync(real);
    if (!st.isFile()) throw new ParameterError(`${shown} is not a file`);
    if (st.size > maxBytes) throw new ParameterError(`${shown} is larger than ${maxBytes} bytes`);
    return fs.readFileSync(real);
  }

  write(name: string, data: string | Buffer): string {
    const shown = name.startsWith('/tmp/') ? name.slice(5) : name;
    atomicWrite(child(this.dir, shown), data, { mode: 0o600 });
    return `/tmp/${shown}`;
  }

  remove(shown: string): void {
    removeDurably(resolveUpload(this.dir, shown));
  }

  list(): string[] {
    try {
      return fs.readdirSync(this.dir, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name).sort();
    } catch {
      return [];
    }
  }
}
