// Issue 13.1: whatever the trust store accepted must load again. A CA whose subject held U+FFFD
// was written into a bundle comment, and every later start refused the data directory (exit 78).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import { memorySink } from '../../src/platform/log.js';
import { BUNDLE_FILE } from '../../src/services/trust/store.js';
import { runSession, tmpDir } from '../helpers/app.js';
import { makeCa } from '../helpers/pki.js';

const HOSTILE = [
  'Replacement \ufffd Root',
  'Nonchar \uffff Root',
  'Bidi \u202e tooR',
  'C1 \u009b2J Root',
  'NUL \u0000 Root',
  'Newline\r\n-----BEGIN CERTIFICATE----- Root',
  'Long ' + 'x'.repeat(4000),
];

function boot(dir: string) {
  return buildApp({ dataDir: dir, adminPassword: 'correct horse battery', logSink: memorySink(), announce: () => {} });
}

const run = async (app: ReturnType<typeof boot>, input: string): Promise<string> => (await runSession(app, input)).out;

t.test('CAs with hostile subjects are accepted, survive a restart and list again', async (t) => {
  const dir = tmpDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cas = await Promise.all(HOSTILE.map((cn) => makeCa({ cn, organization: 'Hostile \ufffd\u202e Org' })));
  let app = boot(dir);
  const before = app.services.trust.count();
  const out = await run(app, `xCommand Security Certificates CA Add\n${cas.map((c) => c.pem).join('')}.\n`);
  t.match(out, /\(status=OK\)/, 'accepted');
  t.equal(app.services.trust.count(), before + HOSTILE.length);
  const shown = new Map(app.services.trust.list().map((c) => [c.fingerprint, c.subject]));
  await app.close();

  // The stored bundle holds only printable ASCII outside the base64.
  const bundle = fs.readFileSync(path.join(dir, 'trust', BUNDLE_FILE), 'utf8');
  t.notOk(/[^\x0a\x20-\x7e]/.test(bundle), 'no raw free text from certificates in the bundle');

  // The next start loads every one of them, with the same subjects.
  app = boot(dir);
  t.teardown(() => app.close());
  t.equal(app.services.trust.count(), before + HOSTILE.length);
  const subjects = new Map(app.services.trust.list().map((c) => [c.fingerprint, c.subject]));
  for (const [i, c] of cas.entries()) {
    const fp = c.x509.fingerprint256;
    t.ok(shown.get(fp), `CA ${i} was listed`);
    t.equal(subjects.get(fp), shown.get(fp), `CA ${i} lists with the same subject after the restart`);
  }
  t.equal(subjects.get(cas[0]!.x509.fingerprint256), 'O=Hostile \ufffd\u202e Org, CN=Replacement \ufffd Root');
  const list = await run(app, 'xCommand Security Certificates CA List\n');
  t.match(list, /SecurityCertificatesCAListResult \(status=OK\)/);

  // The next change keeps them all and still loads.
  t.match(await run(app, `xCommand Security Certificates CA Delete Fingerprint: "${cas[0]!.x509.fingerprint256}"\n`), /\(status=OK\)/);
  await app.close();
  app = boot(dir);
  t.equal(app.services.trust.count(), before + HOSTILE.length - 1);
});

t.test('a bundle written by an earlier version with a raw U+FFFD comment still loads (no brick on upgrade)', async (t) => {
  const dir = tmpDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ca = await makeCa({ cn: 'Old \ufffd Root' });
  fs.mkdirSync(path.join(dir, 'trust'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'trust', BUNDLE_FILE), `# CN=Old \ufffd Root\u0000\n${ca.pem}`);
  const app = boot(dir);
  t.teardown(() => app.close());
  t.same(app.services.trust.list().map((c) => c.commonName), ['Old \ufffd Root']);
});
