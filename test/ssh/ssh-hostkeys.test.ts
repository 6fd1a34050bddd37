// Host keys: made on first boot (ed25519 + RSA-3072, 0600), read back unchanged afterwards.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { ensureHostKeys } from '../../src/ssh/hostkeys.js';
import { tmpDir } from '../helpers/app.js';

t.test('first boot generates, later boots reuse', async (t) => {
  const root = tmpDir('xway-hk-');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'ssh');
  const keys = ensureHostKeys(dir);
  t.equal(keys.length, 2);
  const parsed = keys.map((k) => ssh2.utils.parseKey(k));
  t.same(parsed.map((p) => (p instanceof Error ? p.message : p.type)), ['ssh-ed25519', 'ssh-rsa']);
  const rsa = parsed[1] as ssh2.ParsedKey;
  t.equal(rsa.getPublicSSH().length > 390, true, 'RSA key is 3072 bits (public blob size)');
  for (const f of ['ssh_host_ed25519_key', 'ssh_host_rsa_key']) {
    t.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);
    t.equal(fs.statSync(path.join(dir, f + '.pub')).mode & 0o777, 0o644);
  }
  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
  const again = ensureHostKeys(dir);
  t.same(again.map((k) => k.toString()), keys.map((k) => k.toString()), 'the same keys on the next boot');

  fs.chmodSync(path.join(dir, 'ssh_host_ed25519_key'), 0o644);
  ensureHostKeys(dir);
  t.equal(fs.statSync(path.join(dir, 'ssh_host_ed25519_key')).mode & 0o777, 0o600, 'loose permissions are tightened');

  fs.writeFileSync(path.join(dir, 'ssh_host_rsa_key'), 'garbage');
  t.throws(() => ensureHostKeys(dir), /SSH host key .*ssh_host_rsa_key is unreadable/, 'a damaged key stops the boot with a clear message');
});

t.test('generated key pairs always parse (ssh2 alone loses about one ed25519 key in 256)', async (t) => {
  const { generateSshKeyPair } = await import('../../src/ssh/hostkeys.js');
  const { default: ssh2 } = await import('ssh2');
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    const p = generateSshKeyPair('ed25519');
    if (ssh2.utils.parseKey(p.private) instanceof Error || ssh2.utils.parseKey(p.public) instanceof Error) bad++;
  }
  t.equal(bad, 0, 'all 2000 parse');
});
