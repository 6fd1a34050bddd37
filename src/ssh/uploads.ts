// The upload area as file transfers see it (SFTP in src/ssh/sftp.ts, legacy SCP in
// src/ssh/scp.ts): one flat directory shown as /tmp, plain safe names, a size limit per file and a
// limit on the number of files. An upload is collected in memory and written atomically (0600)
// when it completes, so a broken transfer never leaves half a file. Two things are shared by
// every transfer of the appliance, so that concurrent uploads cannot add up past a limit:
//   - a new file takes its place in the count when it is opened, not when it is written (16
//     handles opened at 99 files would otherwise make 115 files);
//   - the memory held by uploads in progress is bounded per connection and for the appliance.
import fs from 'node:fs';
import path from 'node:path';
import { isSafeName } from '../platform/paths.js';
import { atomicWrite, ensureDir } from '../platform/files.js';
import { diskFailure } from '../errors.js';

export interface UploadLimits {
  /** Largest file accepted, in bytes. */
  readonly maxFileBytes: number;
  /** Files the area may hold, counting uploads of new files in progress. */
  readonly maxFiles: number;
  /** Handles open at once per SFTP session. */
  readonly maxHandles: number;
  /** Bytes held in memory by the uploads in progress of one SSH connection. */
  readonly maxBufferedPerConnection: number;
  /** Bytes held in memory by all uploads in progress. */
  readonly maxBuffered: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxFileBytes: 1024 * 1024,
  maxFiles: 100,
  maxHandles: 16,
  maxBufferedPerConnection: 4 * 1024 * 1024,
  maxBuffered: 16 * 1024 * 1024,
};

export const SHOWN_ROOT = '/tmp';

/** Where a path as the client sends it leads: the area itself, one file in it, or nowhere. */
export type Target = { kind: 'root' } | { kind: 'file'; name: string } | { kind: 'outside'; shown: string };

/** Pure: maps a client path (absolute, or relative to /tmp) onto the area. */
export function target(p: string): Target {
  if (p.includes('\0')) return { kind: 'outside', shown: p.replace(/\0/g, '') };
  const abs = path.posix.resolve(SHOWN_ROOT, p);
  if (abs === '/' || abs === SHOWN_ROOT) return { kind: 'root' };
  const prefix = SHOWN_ROOT + '/';
  if (abs.startsWith(prefix)) {
    const name = abs.slice(prefix.length);
    if (!name.includes('/') && isSafeName(name)) return { kind: 'file', name };
  }
  return { kind: 'outside', shown: abs };
}

/** Memory held by uploads in progress: a bound of its own and, when given, its parent's. */
export class BufferBudget {
  private used = 0;
  constructor(
    readonly max: number,
    private readonly parent?: BufferBudget,
  ) {}

  /** Takes `n` bytes from this budget and its parent; takes nothing when either would overflow. */
  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    if (this.parent && !this.parent.take(n)) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used -= n;
    this.parent?.give(n);
  }

  get inUse(): number {
    return this.used;
  }
}

/** The messages a refused upload gets: one sentence each, the same for SFTP and SCP. */
export const refusals = {
  tooLarge: (l: UploadLimits) => `File too large: at most ${l.maxFileBytes} bytes per file; nothing was written`,
  full: (l: UploadLimits) => `Upload area full: ${SHOWN_ROOT} holds at most ${l.maxFiles} files; remove some first`,
  busy: () => 'Too many uploads in progress: wait for the others to finish, then try again; nothing was written',
  notStored: (name: string, why?: string) => `Could not store ${SHOWN_ROOT}/${name}: ${why ?? 'nothing was written'}`,
};

/** One upload in progress: bytes at any offset, kept in memory until `commit`. */
export class Upload {
  private data = Buffer.alloc(0);
  private size = 0;
  private done = false;
  /** Set once a write was refused: every later write and the commit fail with it. */
  failed?: string;

  constructor(
    private readonly area: UploadArea,
    readonly name: string,
    private readonly budget: BufferBudget,
    private readonly creating: boolean,
  ) {}

  get bytes(): number {
    return this.size;
  }

  /** Starts from the file's current content (an SFTP open without truncation). */
  preload(content: Buffer): string | undefined {
    return this.write(0, content);
  }

  /** Stores `chunk` at `offset`; returns the refusal, if any (then the upload is failed). */
  write(offset: number, chunk: Buffer): string | undefined {
    if (this.failed) return this.failed;
    const { limits } = this.area;
    const end = offset + chunk.length;
    if (end > limits.maxFileBytes) return this.fail(refusals.tooLarge(limits));
    if (end > this.data.length) {
      const capacity = Math.min(limits.maxFileBytes, Math.max(end, this.data.length * 2));
      if (!this.budget.take(capacity - this.data.length)) return this.fail(refusals.busy());
      const grown = Buffer.alloc(capacity);
      this.data.copy(grown, 0, 0, this.size);
      this.data = grown;
    }
    chunk.copy(this.data, offset);
    this.size = Math.max(this.size, end);
    return undefined;
  }

  /** Writes the file atomically; returns the refusal, if any. Ends the upload either way. */
  commit(): string | undefined {
    if (this.failed) {
      this.abort();
      return this.failed;
    }
    try {
      atomicWrite(this.area.fileOf(this.name), this.data.subarray(0, this.size), { mode: 0o600 });
    } catch (e) {
      this.failed = refusals.notStored(this.name, diskFailure(e)?.message);
    }
    this.abort();
    return this.failed;
  }

  /** Drops the upload: its memory and its place in the count are given back. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.budget.give(this.data.length);
    this.data = Buffer.alloc(0);
    if (this.creating) this.area.finished(this.name);
  }

  private fail(reason: string): string {
    this.failed = reason;
    this.budget.give(this.data.length);
    this.data = Buffer.alloc(0);
    this.size = 0;
    return reason;
  }
}

/** The area on disk and what is shared by every transfer into it. One per appliance. */
export class UploadArea {
  readonly limits: UploadLimits;
  /** Memory held by all uploads in progress. */
  readonly buffers: BufferBudget;
  /** New files being uploaded, by name (several uploads of one new name take one place). */
  private readonly creating = new Map<string, number>();

  constructor(
    readonly dir: string,
    limits: Partial<UploadLimits> = {},
  ) {
    this.limits = { ...DEFAULT_UPLOAD_LIMITS, ...limits };
    this.buffers = new BufferBudget(this.limits.maxBuffered);
  }

  /** A budget for one SSH connection's uploads, inside the appliance's. */
  connectionBudget(): BufferBudget {
    return new BufferBudget(this.limits.maxBufferedPerConnection, this.buffers);
  }

  fileOf(name: string): string {
    return path.join(this.dir, name);
  }

  ensure(): void {
    ensureDir(this.dir, 0o700);
  }

  /** lstat of a file in the area; undefined when missing or not a regular file. */
  statFile(name: string): fs.Stats | undefined {
    try {
      const st = fs.lstatSync(this.fileOf(name));
      return st.isFile() ? st : undefined;
    } catch {
      return undefined;
    }
  }

  /** Plain files in the area (temp files excluded), plus new files being uploaded. */
  fileCount(): number {
    let onDisk: string[] = [];
    try {
      onDisk = fs.readdirSync(this.dir, { withFileTypes: true }).filter((d) => d.isFile() && !d.name.startsWith('.')).map((d) => d.name);
    } catch {
      /* no area yet: no files */
    }
    const present = new Set(onDisk);
    let pending = 0;
    for (const name of this.creating.keys()) if (!present.has(name)) pending++;
    return onDisk.length + pending;
  }

  /**
   * Starts an upload of `name` (a safe name) under `budget`, or returns why not. A name not in
   * the area takes its place in the file count now.
   */
  begin(name: string, budget: BufferBudget): Upload | string {
    const creating = !this.statFile(name);
    if (creating && !this.creating.has(name) && this.fileCount() >= this.limits.maxFiles) return refusals.full(this.limits);
    if (creating) this.creating.set(name, (this.creating.get(name) ?? 0) + 1);
    return new Upload(this, name, budget, creating);
  }

  /** An upload of a new name ended (written or dropped). */
  finished(name: string): void {
    const n = (this.creating.get(name) ?? 1) - 1;
    if (n > 0) this.creating.set(name, n);
    else this.creating.delete(name);
  }
}
