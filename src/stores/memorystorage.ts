// The Storage contract (storage.ts) in memory, for tests that need no disk: no fsync, no
// RSA-sized waits, nothing to clean up. Values are copied in and out, so a caller can never
// change what is stored by mutating a buffer.
import type { Key } from './keys.js';
import { LockTable, type Lock, type Storage, type StoredItem } from './storage.js';

export class MemoryStorage implements Storage {
  private readonly values = new Map<string, { value: Buffer; modified: number }>();
  private readonly locks = new LockTable();

  constructor(private readonly now: () => number = Date.now) {}

  get(k: Key): Buffer | undefined {
    const v = this.values.get(k);
    return v && Buffer.from(v.value);
  }

  put(k: Key, value: string | Buffer): void {
    if (this.under(k).length > 0) throw Object.assign(new Error(`${k} is a prefix`), { code: 'EISDIR' });
    const segments = k.split('/');
    for (let i = 1; i < segments.length; i++) {
      if (this.values.has(segments.slice(0, i).join('/'))) throw Object.assign(new Error(`${k}: a parent is a value`), { code: 'ENOTDIR' });
    }
    this.values.set(k, { value: Buffer.from(value), modified: this.now() });
  }

  delete(k: Key): void {
    this.values.delete(k);
    for (const u of this.under(k)) this.values.delete(u);
  }

  list(prefix: Key): string[] {
    return [...new Set(this.under(prefix).map((u) => u.slice(prefix.length + 1).split('/')[0]!))].sort();
  }

  stat(k: Key): StoredItem | undefined {
    const v = this.values.get(k);
    if (v) return { kind: 'value', size: v.value.length, modified: v.modified };
    const under = this.under(k);
    if (under.length === 0) return undefined;
    return { kind: 'prefix', size: 0, modified: Math.max(...under.map((u) => this.values.get(u)!.modified)) };
  }

  tryLock(name: string): Lock | undefined {
    return this.locks.tryLock(name);
  }

  private under(prefix: string): string[] {
    return [...this.values.keys()].filter((k) => k.startsWith(prefix + '/'));
  }
}
