// File transfer into the upload area, seen as /tmp: OpenSSH scp (SFTP protocol) and sftp, and
// the ssh2 SFTP client for exact statuses. Nothing outside the area is reachable.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { target } from '../../src/ssh/uploads.js';
import { startSsh, run, connect, PASSWORD, OPENSSH_OPTS } from '../helpers/ssh.js';
import { tmpDir, ADMIN } from '../helpers/app.js';

const scp = (port: number, args: string[]) => run('sshpass', ['-p', PASSWORD, 'scp', ...OPENSSH_OPTS, '-P', String(port), ...args]);
const sftp = (port: number, script: string) =>
  run('sshpass', ['-p', PASSWORD, 'sftp', ...OPENSSH_OPTS, '-P', String(port), 'admin@127.0.0.1'], script);

t.test('target(): every client path maps into /tmp or nowhere', async (t) => {
  t.same(target('/'), { kind: 'root' });
  t.same(target('.'), { kind: 'root' });
  t.same(target('/tmp'), { kind: 'root' });
  t.same(target('..'), { kind: 'root' }, '/tmp/.. is / which is shown as /tmp');
  t.same(target('/tmp/a.pem'), { kind: 'file', name: 'a.pem' });
  t.same(target('a.pem'), { kind: 'file', name: 'a.pem' });
  t.same(target('/tmp/x/../a.pem'), { kind: 'file', name: 'a.pem' });
  t.same(target('../../etc/passwd'), { kind: 'outside', shown: '/etc/passwd' });
  t.same(target('/tmp/sub/a.pem'), { kind: 'outside', shown: '/tmp/sub/a.pem' });
  t.same(target('/tmp/.hidden'), { kind: 'outside', shown: '/tmp/.hidden' });
  t.same(target('/tmp/a b'), { kind: 'outside', shown: '/tmp/a b' });
  t.equal(target('/tmp/a\0b').kind, 'outside');
});

t.test('scp uploads into /tmp and downloads from it; nothing else', async (t) => {
  const f = await startSsh(t);
  const local = tmpDir('xway-scp-');
  t.teardown(() => fs.rmSync(local, { recursive: true, force: true }));
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  fs.writeFileSync(path.join(local, 'ca.pem'), pem);

  const up = await scp(f.port, [path.join(local, 'ca.pem'), 'admin@127.0.0.1:/tmp/ca.pem']);
  t.equal(up.code, 0, up.stderr);
  const stored = path.join(f.app.paths.uploads, 'ca.pem');
  t.equal(fs.readFileSync(stored, 'utf8'), pem);
  t.equal(fs.statSync(stored).mode & 0o777, 0o600);

  const home = await scp(f.port, [path.join(local, 'ca.pem'), 'admin@127.0.0.1:']);
  t.equal(home.code, 0, 'the login directory is /tmp');
  const renamed = await scp(f.port, [path.join(local, 'ca.pem'), 'admin@127.0.0.1:other.pem']);
  t.equal(renamed.code, 0);
  t.ok(fs.existsSync(path.join(f.app.paths.uploads, 'other.pem')));

  const down = await scp(f.port, ['admin@127.0.0.1:/tmp/ca.pem', path.join(local, 'back.pem')]);
  t.equal(down.code, 0);
  t.equal(fs.readFileSync(path.join(local, 'back.pem'), 'utf8'), pem);

  for (const dest of ['/etc/xway-test', '../../etc/xway-test', '/tmp/sub/x.pem', '/tmp/.hidden']) {
    const r = await scp(f.port, [path.join(local, 'ca.pem'), `admin@127.0.0.1:${dest}`]);
    t.not(r.code, 0, `upload to ${dest} refused`);
  }
  t.notOk(fs.existsSync('/etc/xway-test'));
  const steal = await scp(f.port, ['admin@127.0.0.1:/etc/passwd', path.join(local, 'passwd')]);
  t.not(steal.code, 0, '/etc/passwd is not reachable');
  t.notOk(fs.existsSync(path.join(local, 'passwd')));
  const steal2 = await scp(f.port, ['admin@127.0.0.1:../xway.db', path.join(local, 'db')]);
  t.not(steal2.code, 0, 'the data directory is not reachable');
  fs.writeFileSync(path.join(local, 'big.bin'), Buffer.alloc(1024 * 1024 + 1, 1));
  const big = await scp(f.port, [path.join(local, 'big.bin'), 'admin@127.0.0.1:/tmp/']);
  t.not(big.code, 0, 'an upload over 1 MiB fails');
  t.match(big.stderr, /^xway: \/tmp\/big\.bin: File too large: at most 1048576 bytes per file; nothing was written$/m, 'and says why in words');
  t.same(fs.readdirSync(f.app.paths.uploads).sort(), ['ca.pem', 'other.pem']);
  t.ok(f.app.logLines.some((l) => /"what":"sftp upload \/tmp\/ca.pem"/.test(l)), 'uploads are audited');
});

t.test('sftp: /tmp only, no directories, no links, bounded size and count', async (t) => {
  const f = await startSsh(t, { sftp: { maxFileBytes: 1000, maxFiles: 3 } });
  const local = tmpDir('xway-sftp-');
  t.teardown(() => fs.rmSync(local, { recursive: true, force: true }));
  fs.writeFileSync(path.join(local, 'small.txt'), 'hello\n');
  fs.writeFileSync(path.join(local, 'big.bin'), Buffer.alloc(1001, 1));
  const r = await sftp(
    f.port,
    [
      'pwd',
      `lcd ${local}`,
      'put small.txt',
      'cd /',
      'pwd',
      'cd /etc',
      'pwd',
      'mkdir sub',
      'symlink small.txt link',
      'put big.bin',
      'put small.txt s2.txt',
      'put small.txt s3.txt',
      'put small.txt s4.txt',
      'rename s2.txt renamed.txt',
      'rm s3.txt',
      'put small.txt s4.txt',
      'ls -1',
      'get /etc/hostname',
    ].join('\n') + '\n',
  );
  t.match(r.stderr, /realpath \/etc: No such file: \/etc \(only plain file names in \/tmp are reachable\)/);
  t.match(r.stderr, /remote mkdir "\/tmp\/sub": Permission denied/);
  t.match(r.stderr, /remote symlink file "small.txt" to "\/tmp\/link": Permission denied/);
  t.match(r.stderr, /write remote "\/tmp\/big.bin": Failure/);
  t.match(r.stderr, /dest open "\/tmp\/s4.txt": Failure/, 'the fourth file is refused while /tmp holds three');
  // OpenSSH prints only "Failure" for a refused write or open; the reason comes on stderr.
  t.match(r.stderr, /xway: \/tmp\/big.bin: File too large: at most 1000 bytes per file; nothing was written\nwrite remote "\/tmp\/big.bin": Failure/);
  t.match(r.stderr, /xway: \/tmp\/s4.txt: Upload area full: \/tmp holds at most 3 files; remove some first\ndest open "\/tmp\/s4.txt": Failure/);
  t.equal(r.stderr.match(/File too large/g)?.length, 1, 'said once, not once per write');
  const pwds = r.stdout.match(/Remote working directory: \S+/g);
  t.same(pwds, ['Remote working directory: /tmp', 'Remote working directory: /tmp', 'Remote working directory: /tmp'], '/ shows /tmp; cd /etc is impossible');
  t.same(fs.readdirSync(f.app.paths.uploads).sort(), ['renamed.txt', 's4.txt', 'small.txt'], 'big.bin refused; the count limit held until rm');
  t.match(r.stdout, /renamed\.txt\n.*s4\.txt\n.*small\.txt/s);
  t.notOk(fs.existsSync(path.join(local, 'hostname')));
});

t.test('exact statuses through the ssh2 SFTP client', async (t) => {
  const f = await startSsh(t, { sftp: { maxFileBytes: 100, maxFiles: 2 } });
  const c = await connect(f.port);
  t.teardown(() => c.end());
  const s = await new Promise<import('ssh2').SFTPWrapper>((res, rej) => c.sftp((e, w) => (e ? rej(e) : res(w))));
  const call = <T>(fn: (cb: (err: Error | undefined, v?: T) => void) => void) =>
    new Promise<{ err?: Error & { code?: number }; v?: T }>((res) => fn((err, v) => res({ err: err ?? undefined, v })));

  t.equal((await call<string>((cb) => s.realpath('/', cb as never))).v, '/tmp');
  t.equal((await call<string>((cb) => s.realpath('../..', cb as never))).v, '/tmp');
  let r = await call((cb) => s.realpath('/etc', cb as never));
  t.match(r.err, { code: 2, message: /only plain file names in \/tmp are reachable/ });

  r = await call((cb) => s.writeFile('/tmp/big', Buffer.alloc(101), cb as never));
  t.match(r.err, { code: 4, message: 'File too large: at most 100 bytes per file; nothing was written' });
  t.notOk(fs.existsSync(path.join(f.app.paths.uploads, 'big')), 'a refused upload leaves nothing');

  t.notOk((await call((cb) => s.writeFile('/tmp/a', 'a', cb as never))).err);
  t.notOk((await call((cb) => s.writeFile('b', 'b', cb as never))).err);
  r = await call((cb) => s.writeFile('/tmp/c', 'c', cb as never));
  t.match(r.err, { code: 4, message: 'Upload area full: /tmp holds at most 2 files; remove some first' });
  t.notOk((await call((cb) => s.writeFile('/tmp/a', 'again', cb as never))).err, 'replacing a file is fine when full');
  t.equal(fs.readFileSync(path.join(f.app.paths.uploads, 'a'), 'utf8'), 'again');

  r = await call((cb) => s.mkdir('/tmp/d', cb as never));
  t.match(r.err, { code: 3, message: 'Directories are not supported: /tmp holds files only' });
  r = await call((cb) => s.symlink('/etc/passwd', '/tmp/l', cb as never));
  t.match(r.err, { code: 3, message: 'Links are not supported in /tmp' });
  r = await call((cb) => s.rename('/tmp/a', '/etc/a', cb as never));
  t.match(r.err, { code: 2 });
  r = await call((cb) => s.unlink('/tmp', cb as never));
  t.match(r.err, { code: 3 });

  // A link planted on disk by someone else is not followed.
  fs.symlinkSync('/etc/hostname', path.join(f.app.paths.uploads, 'planted'));
  r = await call((cb) => s.readFile('/tmp/planted', cb as never));
  t.match(r.err, { code: 2 });
  const list = await call<{ filename: string }[]>((cb) => s.readdir('/tmp', cb as never));
  t.same(list.v!.map((e) => e.filename).sort(), ['a', 'b'], 'listings show plain files only');
});

t.test('a read-only account gets no SFTP at all (files may hold keys and secrets)', async (t) => {
  const f = await startSsh(t);
  await f.app.services.accounts.addUser('viewer', 'ReadOnly', PASSWORD, ADMIN);
  fs.writeFileSync(path.join(f.app.paths.uploads, 'x.pem'), 'x');
  const c = await connect(f.port, { username: 'viewer' });
  t.teardown(() => c.end());
  const err = await new Promise<Error | undefined>((res) => c.sftp((e) => res(e)));
  t.match(err, { message: /Unable to start subsystem: sftp/ });
});

t.test('an idle SFTP session is closed after Ssh IdleTimeout', async (t) => {
  const f = await startSsh(t);
  f.app.services.config.set([{ key: 'Ssh IdleTimeout', value: 1 }], ADMIN);
  const c = await connect(f.port);
  t.teardown(() => c.end());
  const s = await new Promise<import('ssh2').SFTPWrapper>((res, rej) => c.sftp((e, w) => (e ? rej(e) : res(w))));
  const start = Date.now();
  // Activity keeps it open...
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => s.realpath('.', r));
  }
  t.ok(Date.now() - start >= 1400, 'still open after 1.5 s of regular requests');
  // ...silence closes it.
  const closedAfter = await new Promise<number>((resolve) => {
    const t0 = Date.now();
    s.on('close', () => resolve(Date.now() - t0));
  });
  t.ok(closedAfter >= 800 && closedAfter < 8000, `closed ${closedAfter} ms after the last request`);
});

/** Raw SFTP calls on one connection: open, write, close with their errors, as promises. */
async function sftpOn(c: import('ssh2').Client) {
  const s = await new Promise<import('ssh2').SFTPWrapper>((res, rej) => c.sftp((e, w) => (e ? rej(e) : res(w))));
  return {
    s,
    open: (p: string) => new Promise<Buffer | Error>((res) => s.open(p, 'w', (e, h) => res(e ?? h))),
    write: (h: Buffer, data: Buffer, offset = 0) => new Promise<Error | undefined>((res) => s.write(h, data, 0, data.length, offset, (e) => res(e ?? undefined))),
    close: (h: Buffer) => new Promise<Error | undefined>((res) => s.close(h, (e) => res(e ?? undefined))),
  };
}

t.test('the file limit is counted at open: 16 handles opened at 99 files make 100 files, not 115', async (t) => {
  const f = await startSsh(t);
  for (let i = 0; i < 99; i++) fs.writeFileSync(path.join(f.app.paths.uploads, `f${i}.txt`), 'x');
  const [c1, c2] = await Promise.all([connect(f.port), connect(f.port)]);
  t.teardown(() => [c1, c2].forEach((c) => c.end()));
  const [a, b] = await Promise.all([sftpOn(c1), sftpOn(c2)]);
  // Eight new names on each of two connections at once: the count is the appliance's.
  const opened = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).open(`/tmp/new${i}.txt`)));
  const handles = opened.filter((h): h is Buffer => Buffer.isBuffer(h));
  const refused = opened.filter((h): h is Error => h instanceof Error);
  t.equal(handles.length, 1, 'one new file fits');
  t.equal(refused.length, 15);
  for (const e of refused) t.match(e, { code: 4, message: 'Upload area full: /tmp holds at most 100 files; remove some first' });
  const winner = opened.findIndex((h) => Buffer.isBuffer(h));
  const w = winner % 2 ? a : b;
  t.notOk(await w.write(handles[0]!, Buffer.from('new')));
  t.notOk(await w.close(handles[0]!));
  t.equal(fs.readdirSync(f.app.paths.uploads).length, 100);
  t.match(await a.open('/tmp/late.txt'), { message: /Upload area full/ }, 'still full after the close');
  // Replacing an existing file needs no new place; a dropped upload gives its place back.
  const again = await a.open('/tmp/f0.txt');
  t.ok(Buffer.isBuffer(again));
  fs.rmSync(path.join(f.app.paths.uploads, 'f1.txt'));
  const pending = await b.open('/tmp/pending.txt');
  t.ok(Buffer.isBuffer(pending), 'a removed file frees a place');
  t.match(await a.open('/tmp/other.txt'), { message: /Upload area full/ }, 'taken by the upload in progress');
  c2.end();
  await new Promise((r) => b.s.once('close', r));
  // The server drops the unfinished upload when the connection goes; poll briefly for it.
  let reopened: Buffer | Error = new Error('not tried');
  for (let i = 0; i < 50 && !Buffer.isBuffer(reopened); i++) {
    reopened = await a.open('/tmp/other.txt');
    if (!Buffer.isBuffer(reopened)) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(Buffer.isBuffer(reopened), 'a connection that went away gave its place back');
  t.notOk(fs.existsSync(path.join(f.app.paths.uploads, 'pending.txt')));
});

t.test('memory held by uploads in progress is capped per connection and for the appliance', async (t) => {
  const f = await startSsh(t, { sftp: { maxFileBytes: 1000, maxBufferedPerConnection: 2500, maxBuffered: 4000 } });
  const kib = Buffer.alloc(1000, 7);
  const conns = await Promise.all([0, 1, 2].map(() => connect(f.port)));
  t.teardown(() => conns.forEach((c) => c.end()));
  const [a, b, c] = await Promise.all(conns.map((x) => sftpOn(x)));
  const busy = 'Too many uploads in progress: wait for the others to finish, then try again; nothing was written';

  const ha = await Promise.all([1, 2, 3].map((i) => a.open(`/tmp/a${i}`))) as Buffer[];
  t.notOk(await a.write(ha[0]!, kib));
  t.notOk(await a.write(ha[1]!, kib));
  t.match(await a.write(ha[2]!, kib), { code: 4, message: busy }, 'a third 1000-byte upload passes the connection cap (2500)');
  t.match(await a.close(ha[2]!), { code: 4, message: busy }, 'and is not stored');

  const hb = await Promise.all([1, 2].map((i) => b.open(`/tmp/b${i}`))) as Buffer[];
  t.notOk(await b.write(hb[0]!, kib));
  t.notOk(await b.write(hb[1]!, kib), 'another connection has its own share');
  const hc = (await c.open('/tmp/c1')) as Buffer;
  t.match(await c.write(hc, kib), { code: 4, message: busy }, 'the appliance cap (4000) holds across connections');

  // Finished uploads give their memory back.
  for (const h of ha.slice(0, 2)) t.notOk(await a.close(h));
  const hc2 = (await c.open('/tmp/c2')) as Buffer;
  t.notOk(await c.write(hc2, kib));
  t.notOk(await c.close(hc2));
  t.same(fs.readdirSync(f.app.paths.uploads).sort(), ['a1', 'a2', 'c2']);
});

t.test('with the shipped limits one connection holds at most 4 MiB of uploads in progress', async (t) => {
  const f = await startSsh(t);
  const conn = await connect(f.port);
  t.teardown(() => conn.end());
  const a = await sftpOn(conn);
  const chunk = Buffer.alloc(32 * 1024, 1);
  const handles = (await Promise.all(Array.from({ length: 16 }, (_, i) => a.open(`/tmp/big${i}`)))) as Buffer[];
  t.equal(handles.filter(Buffer.isBuffer).length, 16);
  let refused = 0;
  // 16 handles x 1 MiB, 32 KiB at a time (bounded: 512 writes).
  for (let off = 0; off < 1024 * 1024; off += chunk.length) {
    const results = await Promise.all(handles.map((h) => a.write(h, chunk, off)));
    refused += results.filter((e) => e && /Too many uploads in progress/.test(e.message)).length;
  }
  const closed = await Promise.all(handles.map((h) => a.close(h)));
  const stored = closed.filter((e) => !e).length;
  t.equal(stored, 4, 'four whole files of 1 MiB stored; the rest refused');
  t.ok(refused > 0);
  t.equal(fs.readdirSync(f.app.paths.uploads).length, stored);
});

t.test('property: target() never names anything but a plain file directly in the area', async (t) => {
  const fc = (await import('fast-check')).default;
  const { isSafeName } = await import('../../src/platform/paths.js');
  const seg = fc.oneof(fc.constantFrom('..', '.', '', 'tmp', 'etc', 'a.pem', '.ssh', 'x\0y', ' ', '~', '%2e%2e'), fc.string({ maxLength: 6 }));
  const p = fc.tuple(fc.boolean(), fc.array(seg, { maxLength: 6 })).map(([abs, parts]) => (abs ? '/' : '') + parts.join('/'));
  fc.assert(
    fc.property(p, (raw) => {
      const r = target(raw);
      if (r.kind !== 'file') return true;
      const joined = path.join('/data/uploads', r.name);
      return isSafeName(r.name) && path.dirname(joined) === '/data/uploads' && !r.name.includes('/');
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 hostile paths');
});
