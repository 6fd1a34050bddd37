// The one interface for state kept outside the configuration database: certificates and their
// keys, the trust bundle, ACME accounts and staged certificates, the upload area. Modelled on
// certmagic's Storage. Implementations: FileStorage (the data directory, src/stores/filestorage.ts)
// and MemoryStorage (tests).
import type { Key } from './keys.js';

export interface StoredItem {
  /** A value (file), or a prefix that holds values (directory). */
  readonly kind: 'value' | 'prefix';
  /** Bytes of a value; 0 for a prefix. */
  readonly size: number;
  /** Last write, milliseconds since the epoch. */
  readonly modified: number;
}

export interface PutOptions {
  /** Readable by the owner only (keys, secrets); the default. `false`: world-readable (certificates). */
  readonly secret?: boolean;
}

/** A held lock; `release` is idempotent. */
export interface Lock {
  release(): void;
}

/**
 * The contract every implementation keeps.
 *
 * Keys: only keys from src/stores/keys.ts, so a key never names anything outside the storage
 * (no `..`, no absolute path, no hidden name); an implementation also refuses to follow a link
 * that leads out of it. A key is either a value or a prefix of other keys, never both.
 *
 * Atomicity: `put` and `delete` are whole or nothing. After `put` returns, the new value is
 * durable; if it throws (disk full, read-only), the old value is still there, unchanged, and no
 * partial value is ever visible, even across a crash at any instant. `delete` of a prefix takes the
 * whole subtree away in one step. There are no multi-key transactions: callers that need one
 * write the new keys first and then switch one pointer key (see stores/generations.ts).
 *
 * Errors: an absent key is not an error (`get` and `stat` return undefined, `delete` does
 * nothing, `list` returns []). Everything else throws the underlying error with its `code`
 * (`ENOSPC`, `EROFS`, `EACCES`...), which src/errors.ts `diskFailure` turns into one sentence.
 *
 * Concurrency: the methods are synchronous, so within the process each call is atomic with
 * respect to every other call. `tryLock` serialises multi-step work on a name (an ACME order for
 * one target) without waiting: it returns undefined when the name is held. Locks live as long as
 * the storage object, i.e. one process owns one data directory.
 */
export interface Storage {
  /** The value at `key`, or undefined when there is none. */
  get(key: Key): Buffer | undefined;
  /** Replaces the value at `key` atomically and durably; creates the prefixes it needs. */
  put(key: Key, value: string | Buffer, opts?: PutOptions): void;
  /** Removes a value, or a prefix and everything under it, in one step. */
  delete(key: Key): void;
  /** Names directly under `prefix` (values and prefixes), sorted; hidden names never appear. */
  list(prefix: Key): string[];
  stat(key: Key): StoredItem | undefined;
  /** Takes the lock called `name` if it is free. */
  tryLock(name: string): Lock | undefined;
}

/** In-process locks by name, shared by the implementations. */
export class LockTable {
  private readonly held = new Set<string>();

  tryLock(name: string): Lock | undefined {
    if (this.held.has(name)) return undefined;
    this.held.add(name);
    let done = false;
    return {
      release: () => {
        if (!done) this.held.delete(name);
        done = true;
      },
    };
  }
}
