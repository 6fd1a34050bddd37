// The SFTP subsystem (OpenSSH `sftp`, and `scp`, which speaks SFTP since OpenSSH 9). The admin
// sees one flat directory, /tmp, backed by the upload area (src/ssh/uploads.ts: its names, limits
// and atomic writes); `/` and `..` lead back to /tmp and no other path exists. Files only (no
// directories, no links). Only Admin accounts get here: src/ssh/channels.ts refuses the others.
import fs from 'node:fs';
import ssh2 from 'ssh2';
import type { Attributes, SFTPWrapper } from 'ssh2';
import { isSafeName } from '../platform/paths.js';
import { SHOWN_ROOT, refusals, target, type BufferBudget, type Target, type Upload, type UploadArea } from './uploads.js';

const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;

const REQUESTS = ['OPEN', 'READ', 'WRITE', 'FSTAT', 'FSETSTAT', 'CLOSE', 'OPENDIR', 'READDIR', 'LSTAT', 'STAT', 'REMOVE', 'RMDIR', 'REALPATH', 'READLINK', 'SETSTAT', 'MKDIR', 'RENAME', 'SYMLINK'];

type Handle =
  | { kind: 'read'; name: string; fd: number }
  | { kind: 'write'; name: string; upload: Upload; told?: boolean }
  | { kind: 'dir'; listed: boolean };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

function attrsOf(st: fs.Stats): Attributes {
  return {
    mode: st.isDirectory() ? S_IFDIR | 0o700 : S_IFREG | (st.mode & 0o777),
    uid: 0,
    gid: 0,
    size: st.size,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

function longname(name: string, a: Attributes): string {
  const dir = (a.mode & S_IFDIR) === S_IFDIR;
  const perms = dir ? 'drwx------' : '-rw-------';
  const date = new Date(a.mtime * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return `${perms} 1 admin admin ${String(a.size).padStart(8)} ${date} ${name}`;
}

export interface SftpSessionOptions {
  /** The upload area (shared by every transfer of the appliance). */
  area: UploadArea;
  /** The memory budget of this SSH connection's uploads. */
  budget: BufferBudget;
  /** Called on every request (the idle timeout counts from the last one). */
  onActivity?: () => void;
  /** Called after a file was written or removed (audit). */
  onChange?: (what: 'upload' | 'remove' | 'rename', name: string, bytes?: number) => void;
}

/**
 * Writes a line to the channel's stderr. OpenSSH's sftp and scp print a failed status as its
 * code's generic text ("Failure") and drop the server's message; the ssh client under them
 * prints the channel's stderr, so the reason reaches the admin in words. ssh2's SFTP object has
 * no stderr of its own; these are the channel fields ssh2's own Channel uses for it.
 */
export function tellStderr(sftp: SFTPWrapper, text: string): void {
  const chan = sftp as unknown as { _protocol?: { channelExtData?(id: number, data: Buffer, type: number): void }; outgoing?: { id: number; state: string } };
  if (chan.outgoing?.state === 'open' && typeof chan._protocol?.channelExtData === 'function') {
    chan._protocol.channelExtData(chan.outgoing.id, Buffer.from(`xway: ${text}\n`), 1);
  }
}

/** Serves one SFTP channel until it closes. */
export function serveSftp(sftp: SFTPWrapper, opts: SftpSessionOptions): void {
  const { area } = opts;
  const limits = area.limits;
  area.ensure();
  const handles = new Map<number, Handle>();
  let nextHandle = 1;

  const fileOf = (name: string) => area.fileOf(name);
  if (opts.onActivity) {
    for (const ev of REQUESTS) sftp.prependListener(ev as 'OPEN', opts.onActivity);
  }
  const deny = (id: number, msg: string) => sftp.status(id, STATUS_CODE.PERMISSION_DENIED, msg);
  const missing = (id: number, shown: string) => sftp.status(id, STATUS_CODE.NO_SUCH_FILE, `No such file: ${shown}`);
  const outside = (id: number, t: Extract<Target, { kind: 'outside' }>) =>
    sftp.status(id, STATUS_CODE.NO_SUCH_FILE, `No such file: ${t.shown} (only plain file names in /tmp are reachable)`);
  /** A refused upload: the status for SFTP clients, the same sentence on stderr for OpenSSH's. */
  const refuse = (id: number, name: string, reason: string) => {
    tellStderr(sftp, `${SHOWN_ROOT}/${name}: ${reason}`);
    sftp.status(id, STATUS_CODE.FAILURE, reason);
  };

  const newHandle = (id: number, h: Handle): void => {
    if (handles.size >= limits.maxHandles) {
      if (h.kind === 'read') fs.closeSync(h.fd);
      if (h.kind === 'write') h.upload.abort();
      const reason = `Too many open files: at most ${limits.maxHandles} per session`;
      tellStderr(sftp, reason);
      sftp.status(id, STATUS_CODE.FAILURE, reason);
      return;
    }
    const n = nextHandle++;
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(n);
    handles.set(n, h);
    sftp.handle(id, buf);
  };
  const handleOf = (b: Buffer): [number, Handle | undefined] => {
    if (b.length !== 4) return [-1, undefined];
    const n = b.readUInt32BE(0);
    return [n, handles.get(n)];
  };

  const statFile = (name: string): fs.Stats | undefined => area.statFile(name);
  const rootAttrs = (): Attributes => attrsOf(fs.statSync(area.dir));

  sftp.on('REALPATH', (id, p) => {
    const t = target(p);
    if (t.kind === 'outside') return outside(id, t);
    const shown = t.kind === 'root' ? SHOWN_ROOT : `${SHOWN_ROOT}/${t.name}`;
    sftp.name(id, [{ filename: shown, longname: shown, attrs: {} as Attributes }]);
  });

  const stat = (id: number, p: string) => {
    const t = target(p);
    if (t.kind === 'outside') return outside(id, t);
    if (t.kind === 'root') return sftp.attrs(id, rootAttrs());
    const st = statFile(t.name);
    if (!st) return missing(id, p);
    sftp.attrs(id, attrsOf(st));
  };
  sftp.on('STAT', stat);
  sftp.on('LSTAT', stat);

  sftp.on('OPEN', (id, p, flags) => {
    const t = target(p);
    if (t.kind === 'outside') return outside(id, t);
    if (t.kind === 'root') return sftp.status(id, STATUS_CODE.FAILURE, `${SHOWN_ROOT} is a directory`);
    const wantsWrite = (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC)) !== 0;
    const st = statFile(t.name);
    if (!wantsWrite) {
      if (!st) return missing(id, p);
      let fd: number;
      try {
        fd = fs.openSync(fileOf(t.name), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      } catch {
        return missing(id, p);
      }
      return newHandle(id, { kind: 'read', name: t.name, fd });
    }
    if (flags & OPEN_MODE.READ) return sftp.status(id, STATUS_CODE.OP_UNSUPPORTED, 'Open a file for reading or for writing, not both');
    if (!st && !(flags & OPEN_MODE.CREAT)) return missing(id, p);
    if (st && flags & OPEN_MODE.EXCL) return sftp.status(id, STATUS_CODE.FAILURE, `File exists: ${SHOWN_ROOT}/${t.name}`);
    if (st && !(flags & OPEN_MODE.TRUNC) && st.size > limits.maxFileBytes) return refuse(id, t.name, refusals.tooLarge(limits));
    const upload = area.begin(t.name, opts.budget);
    if (typeof upload === 'string') return refuse(id, t.name, upload);
    if (st && !(flags & OPEN_MODE.TRUNC)) {
      const refused = upload.preload(fs.readFileSync(fileOf(t.name)));
      if (refused) {
        upload.abort();
        return refuse(id, t.name, refused);
      }
    }
    newHandle(id, { kind: 'write', name: t.name, upload });
  });

  sftp.on('READ', (id, hb, offset, length) => {
    const [, h] = handleOf(hb);
    if (!h || h.kind !== 'read') return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
    const buf = Buffer.alloc(Math.min(length, 256 * 1024));
    let n: number;
    try {
      n = fs.readSync(h.fd, buf, 0, buf.length, offset);
    } catch {
      return sftp.status(id, STATUS_CODE.FAILURE, 'Read failed');
    }
    if (n === 0) return sftp.status(id, STATUS_CODE.EOF);
    sftp.data(id, buf.subarray(0, n));
  });

  sftp.on('WRITE', (id, hb, offset, data) => {
    const [, h] = handleOf(hb);
    if (!h || h.kind !== 'write') return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
    const refused = h.upload.write(offset, data);
    if (!refused) return sftp.status(id, STATUS_CODE.OK);
    // Clients send many writes ahead: say it once on stderr, in every status.
    if (!h.told) tellStderr(sftp, `${SHOWN_ROOT}/${h.name}: ${refused}`);
    h.told = true;
    sftp.status(id, STATUS_CODE.FAILURE, refused);
  });

  sftp.on('FSTAT', (id, hb) => {
    const [, h] = handleOf(hb);
    if (!h) return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
    if (h.kind === 'dir') return sftp.attrs(id, rootAttrs());
    if (h.kind === 'read') return sftp.attrs(id, attrsOf(fs.fstatSync(h.fd)));
    const now = Math.floor(Date.now() / 1000);
    sftp.attrs(id, { mode: S_IFREG | 0o600, uid: 0, gid: 0, size: h.upload.bytes, atime: now, mtime: now });
  });

  // Modes and times are fixed (files are 0600); accepting the request keeps `scp -p` working.
  sftp.on('FSETSTAT', (id, hb) => {
    const [, h] = handleOf(hb);
    if (!h) return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
    sftp.status(id, STATUS_CODE.OK);
  });
  sftp.on('SETSTAT', (id, p) => {
    const t = target(p);
    if (t.kind === 'outside') return outside(id, t);
    if (t.kind === 'file' && !statFile(t.name)) return missing(id, p);
    sftp.status(id, STATUS_CODE.OK);
  });

  sftp.on('CLOSE', (id, hb) => {
    const [n, h] = handleOf(hb);
    if (!h) return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
    handles.delete(n);
    if (h.kind === 'read') {
      fs.closeSync(h.fd);
      return sftp.status(id, STATUS_CODE.OK);
    }
    if (h.kind === 'dir') return sftp.status(id, STATUS_CODE.OK);
    const bytes = h.upload.bytes;
    const refused = h.upload.commit();
    if (refused) {
      if (!h.told) tellStderr(sftp, `${SHOWN_ROOT}/${h.name}: ${refused}`);
      return sftp.status(id, STATUS_CODE.FAILURE, refused);
    }
    opts.onChange?.('upload', h.name, bytes);
    sftp.status(id, STATUS_CODE.OK);
  });

  sftp.on('OPENDIR', (id, p) => {
    const t = target(p);
    if (t.kind === 'outside') return outside(id, t);
    if (t.kind === 'file') return statFile(t.name) ? sftp.status(id, STATUS_CODE.FAILURE, `Not a directory: ${p}`) : missing(id, p);
    newHandle(id, { kind: 'dir', listed: false });
  });

  sftp.on('READDIR', (id, hb) => {
    const [, h] = handleOf(hb);
    if (!h || h.kind !== 'dir') return sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle');
    if (h.listed) return sftp.status(id, STATUS_CODE.EOF);
    h.listed = true;
    const names: { filename: string; longname: string; attrs: Attributes }[] = [];
    const dot = rootAttrs();
    names.push({ filename: '.', longname: longname('.', dot), attrs: dot }, { filename: '..', longname: longname('..', dot), attrs: dot });
    for (const d of fs.readdirSync(area.dir, { withFileTypes: true })) {
      if (!d.isFile() || !isSafeName(d.name)) continue;
      const st = statFile(d.name);
      if (!st) continue;
      const a = attrsOf(st);
      names.push({ filename: d.name, longname: longname(d.name, a), attrs: a });
    }
    sftp.name(id, names);
  });

  sftp.on('REMOVE', (id, p) => {
    const t = target(p);
    if (t.kind === 'outside') return outside(id, t);
    if (t.kind === 'root') return deny(id, `${SHOWN_ROOT} cannot be removed`);
    if (!statFile(t.name)) return missing(id, p);
    fs.rmSync(fileOf(t.name));
    opts.onChange?.('remove', t.name);
    sftp.status(id, STATUS_CODE.OK);
  });

  sftp.on('RENAME', (id, from, to) => {
    const a = target(from);
    const b = target(to);
    if (a.kind === 'outside') return outside(id, a);
    if (b.kind === 'outside') return outside(id, b);
    if (a.kind === 'root' || b.kind === 'root') return deny(id, `${SHOWN_ROOT} cannot be renamed or replaced`);
    if (!statFile(a.name)) return missing(id, from);
    if (fs.existsSync(fileOf(b.name))) return sftp.status(id, STATUS_CODE.FAILURE, `File exists: ${SHOWN_ROOT}/${b.name}`);
    fs.renameSync(fileOf(a.name), fileOf(b.name));
    opts.onChange?.('rename', b.name);
    sftp.status(id, STATUS_CODE.OK);
  });

  sftp.on('MKDIR', (id) => deny(id, 'Directories are not supported: /tmp holds files only'));
  sftp.on('RMDIR', (id) => deny(id, 'Directories are not supported: /tmp holds files only'));
  sftp.on('SYMLINK', (id) => deny(id, 'Links are not supported in /tmp'));
  sftp.on('READLINK', (id, p) => sftp.status(id, STATUS_CODE.NO_SUCH_FILE, `Not a link: ${p}`));

  // The client's EOF ends the subsystem: like sftp-server exiting, send exit status 0 and close
  // our side (OpenSSH's scp reports failure without the status). ssh2's SFTP object has no
  // exit(); its channel fields are the ones ssh2's own Channel.exit() uses.
  sftp.on('end', () => {
    const chan = sftp as unknown as { _protocol?: { exitStatus?(id: number, code: number): void }; outgoing?: { id: number; state: string } };
    if (chan.outgoing?.state === 'open' && typeof chan._protocol?.exitStatus === 'function') chan._protocol.exitStatus(chan.outgoing.id, 0);
    sftp.end();
  });
  sftp.on('close', () => {
    for (const h of handles.values()) {
      if (h.kind === 'read') fs.closeSync(h.fd);
      // An upload never closed is dropped: its memory and its place in the count go back.
      if (h.kind === 'write') h.upload.abort();
    }
    handles.clear();
  });
}
