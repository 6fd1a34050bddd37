// The Storage contract (src/stores/storage.ts), checked on both implementations, then what only
// the file storage does: file modes, links that lead out, and the sweep of what a crash left.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FileStorage } from '../../src/stores/filestorage.js';
import { MemoryStorage } from '../../src/stores/memorystorage.js';
import { key, keyOf, AREAS } from '../../src/stores/keys.js';
import type { Storage } from '../../src/stores/storage.js';
import { Uploads } from '../../src/stores/uploads.js';
import { tmpDir } from '../helpers/pki.js';

const IMPLEMENTATIONS: [string, (t: Tap.Test) => Storage][] = [
  ['FileStorage', (t) => new FileStorage(tmpDir(t, 'xway-storage-'))],
  ['MemoryStorage', () => new MemoryStorage()],
];
type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

for (const [name, make] of IMPLEMENTATIONS) {
  t.test(`${name}: the contract`, async (t) => {
    const s = make(t);
    const a = keyOf('certs', 'domains', 'a.example.com', 'current.json');
    t.equal(s.get(a), undefined, 'an absent key is undefined, not an error');
    t.equal(s.stat(a), undefined);
    t.same(s.list(keyOf('certs', 'domains')), [], 'an absent prefix lists nothing');
    t.doesNotThrow(() => s.delete(a), 'deleting an absent key does nothing');

    s.put(a, '{}\n');
    t.equal(s.get(a)?.toString(), '{}\n', 'round trip');
    s.put(a, Buffer.from('{"current":1}\n'));
    t.equal(s.get(a)?.toString(), '{"current":1}\n', 'a put replaces the value whole');
    const got = s.get(a)!;
    got.fill(0);
    t.equal(s.get(a)?.toString(), '{"current":1}\n', 'a returned buffer does not alias the stored value');

    s.put(keyOf('certs', 'domains', 'b.example.com', 'g-1', 'cert.pem'), 'B');
    s.put(keyOf('certs', 'domains', 'b.example.com', 'g-1', 'key.pem'), 'K');
    s.put(keyOf('certs', 'csr.json'), 'C');
    t.same(s.list(keyOf('certs', 'domains')), ['a.example.com', 'b.example.com'], 'children, sorted');
    t.same(s.list(keyOf('certs')), ['csr.json', 'domains'], 'values and prefixes alike');
    t.equal(s.stat(keyOf('certs', 'domains'))?.kind, 'prefix');
    t.match(s.stat(keyOf('certs', 'csr.json')), { kind: 'value', size: 1 });
    t.equal(s.get(keyOf('certs', 'domains')), undefined, 'a prefix has no value');

    t.throws(() => s.put(keyOf('certs', 'domains'), 'x'), 'a prefix cannot become a value');
    t.same(s.list(keyOf('certs', 'domains')), ['a.example.com', 'b.example.com'], 'and the failed put changed nothing');

    s.delete(keyOf('certs', 'domains', 'b.example.com'));
    t.same(s.list(keyOf('certs', 'domains')), ['a.example.com'], 'a prefix goes away whole');
    t.equal(s.get(keyOf('certs', 'domains', 'b.example.com', 'g-1', 'key.pem')), undefined);
    s.delete(keyOf('certs', 'csr.json'));
    t.equal(s.get(keyOf('certs', 'csr.json')), undefined);

    const lock = s.tryLock('acme:server');
    t.ok(lock, 'a free lock is taken');
    t.equal(s.tryLock('acme:server'), undefined, 'a held lock is refused, without waiting');
    const other = s.tryLock('acme:domain:a.example.com');
    t.ok(other, 'locks are per name');
    other!.release();
    lock!.release();
    lock!.release();
    const again = s.tryLock('acme:server');
    t.ok(again, 'released, it can be taken again (release is idempotent)');
    again!.release();
  });

  t.test(`${name}: uploads reach only the upload area`, async (t) => {
    const s = make(t);
    const up = new Uploads(s);
    t.equal(up.write('/tmp/a.pem', 'A'), '/tmp/a.pem');
    t.equal(up.read('/tmp/a.pem', 10).toString(), 'A');
    t.equal(up.read('a.pem', 10).toString(), 'A', 'relative to /tmp');
    t.same(up.list(), ['a.pem']);
    t.throws(() => up.read('/tmp/a.pem', 0), /larger than 0 bytes/);
    t.throws(() => up.read('/tmp/b.pem', 10), /No such file \/tmp\/b\.pem/);
    for (const bad of ['/etc/passwd', '/tmp/../xway.db', '/tmp/../../etc/passwd', '../certs/csr.json', '/tmp/.hidden', '/tmp', '/tmp/a/b/c/d/e']) {
      t.throws(() => up.read(bad, 10), { code: 'ParameterError' }, `${bad} is refused`);
    }
    t.throws(() => up.write('../acme/accounts/Custom.key', 'x'), { code: 'ParameterError' });
  });
}

t.test('the key builder refuses anything but plain names', async (t) => {
  const bad = ['', '.', '..', '../x', 'a/b', '/etc', 'a\\b', '.hidden', '.trash-0123456789ab', 'a\0b', '..a', 'a..', ' a', 'a b', 'x'.repeat(129), 'é.pem'];
  for (const n of bad) t.throws(() => key(AREAS.uploads, n), { code: 'ParameterError' }, `${JSON.stringify(n)} is refused`);
  t.throws(() => keyOf('certs', '..', 'xway.db'), { code: 'ParameterError' });
  t.throws(() => keyOf(), { code: 'ParameterError' });
  for (const n of ['a.pem', 'g-0001700000000-0123456789ab', 'shop.example.com', '_x', 'A_b-c.d']) t.equal(key(AREAS.uploads, n), `uploads/${n}`);
  t.throws(() => key(AREAS.uploads, '../../etc/passwd', 'path component'), /Invalid path component "\.\.\/\.\.\/etc\/passwd"/, 'the error names the input and what it is');
});

t.test('FileStorage: the layout and modes the appliance always had', async (t) => {
  const dir = tmpDir(t, 'xway-storage-');
  const s = new FileStorage(dir);
  for (const d of ['certs', 'trust', 'acme', 'uploads']) t.ok(fs.statSync(path.join(dir, d)).isDirectory(), `${d}/ exists`);
  s.put(keyOf('trust', 'ca-bundle.pem'), 'x', { secret: false });
  s.put(keyOf('acme', 'accounts', 'Custom.key'), 'k');
  t.equal(fs.statSync(path.join(dir, 'trust', 'ca-bundle.pem')).mode & 0o777, 0o644);
  t.equal(fs.statSync(path.join(dir, 'acme', 'accounts', 'Custom.key')).mode & 0o777, 0o600, 'secret by default');
  t.equal(fs.statSync(path.join(dir, 'acme', 'accounts')).mode & 0o777, 0o700, 'prefixes it creates are private');
  t.same(fs.readdirSync(path.join(dir, 'acme', 'accounts')), ['Custom.key'], 'no temp file left');
});

t.test('FileStorage: a link that leads out is never followed', async (t) => {
  const dir = tmpDir(t, 'xway-storage-');
  const outside = tmpDir(t, 'xway-outside-');
  fs.writeFileSync(path.join(outside, 'secret'), 'outside');
  const s = new FileStorage(dir);
  fs.symlinkSync(path.join(outside, 'secret'), path.join(dir, 'uploads', 'link.pem'));
  fs.symlinkSync(outside, path.join(dir, 'uploads', 'out'));
  t.equal(s.get(keyOf('uploads', 'link.pem')), undefined, 'a file link out reads as absent');
  t.equal(s.stat(keyOf('uploads', 'link.pem')), undefined);
  t.same(s.list(keyOf('uploads', 'out')), [], 'a directory link out lists nothing');
  t.throws(() => s.put(keyOf('uploads', 'out', 'new.pem'), 'x'), { code: 'EACCES' }, 'and is never written through');
  t.same(fs.readdirSync(outside), ['secret'], 'nothing was written outside');
  t.throws(() => new Uploads(s).read('/tmp/link.pem', 100), /No such file/);
  // A link that stays inside is an ordinary name.
  fs.writeFileSync(path.join(dir, 'uploads', 'real.pem'), 'inside');
  fs.symlinkSync(path.join(dir, 'uploads', 'real.pem'), path.join(dir, 'uploads', 'alias.pem'));
  t.equal(s.get(keyOf('uploads', 'alias.pem'))?.toString(), 'inside');
});

t.test('FileStorage: temp files and trash a crash left are swept when it opens (issue 13.10)', async (t) => {
  const dir = tmpDir(t, 'xway-storage-');
  new FileStorage(dir);
  const left = [
    'trust/.ca-bundle.pem.0123456789ab.tmp',
    'uploads/.upload.pem.a1b2c3d4e5f6.tmp',
    'uploads/sub/.x.pem.a1b2c3d4e5f6.tmp',
    'certs/.csr.json.ffffffffffff.tmp',
    'certs/server/.current.json.0123456789ab.tmp',
    'certs/server/g-0001700000000-0123456789ab/.key.pem.0123456789ab.tmp',
    'certs/domains/shop.example.com/.current.json.0123456789ab.tmp',
    'acme/pending/.server.json.0123456789ab.tmp',
    'acme/archive/.01AB.pem.0123456789ab.tmp',
  ];
  const kept = [
    'trust/ca-bundle.pem',
    'uploads/keep.tmp',
    'uploads/.profile',
    'certs/server/g-0001700000000-0123456789ab/key.pem',
    'acme/pending/server.json',
  ];
  for (const f of [...left, ...kept]) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), 'x');
  }
  fs.mkdirSync(path.join(dir, 'certs', 'domains', '.trash-0123456789ab', 'g-1'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'certs', 'domains', '.trash-0123456789ab', 'g-1', 'key.pem'), 'k');
  // Outside the four areas nothing is touched.
  fs.writeFileSync(path.join(dir, '.xway.db.0123456789ab.tmp'), 'x');

  new FileStorage(dir);
  for (const f of left) t.notOk(fs.existsSync(path.join(dir, f)), `${f} was swept`);
  for (const f of kept) t.ok(fs.existsSync(path.join(dir, f)), `${f} was kept`);
  t.notOk(fs.existsSync(path.join(dir, 'certs', 'domains', '.trash-0123456789ab')), 'an interrupted delete is finished');
  t.ok(fs.existsSync(path.join(dir, '.xway.db.0123456789ab.tmp')), 'the data directory root is not the storage\'s to sweep');
});

t.test('a data directory as earlier versions left it loads without migration', async (t) => {
  const { testApp } = await import('../helpers/app.js');
  const dir = tmpDir(t, 'xway-upgrade-');
  let app = testApp(t, { dataDir: dir });
  await app.run('xCommand Security Certificates Domain Add Name: old.example.com\n');
  const serial = app.services.certificates.active().info.serial;
  await app.close();
  // Earlier versions kept a certificate-less domain as an empty directory, without a pointer,
  // and a file copied into uploads/ by hand is as good as one sent over SFTP.
  fs.rmSync(path.join(dir, 'certs', 'domains', 'old.example.com', 'current.json'));
  t.same(fs.readdirSync(path.join(dir, 'certs', 'domains', 'old.example.com')), []);
  fs.writeFileSync(path.join(dir, 'uploads', 'note.txt'), 'hello');
  app = testApp(t, { dataDir: dir });
  t.equal(app.services.certificates.active().info.serial, serial, 'the same server certificate');
  t.same(app.services.certificates.domains().map((d) => d.name), ['old.example.com'], 'the empty domain directory is a hosted domain');
  t.equal(app.services.uploads.read('/tmp/note.txt', 100).toString(), 'hello');
  t.match((await app.run('xCommand Security Certificates Domain List\n')).out, /Name: "old\.example\.com"/);
});
