// Real SSH clients other than OpenSSH's ssh: Dropbear's dbclient, legacy SCP (OpenSSH `scp -O`,
// PuTTY's pscp), netmiko running the README's snippet as written.
import t from 'tap';
import { startSsh, run, hostKeysFor, PASSWORD } from './helpers/ssh.js';
import { tmpDir } from './helpers/app.js';

/** Dropbear's client: -y -y accepts any host key without asking; the password comes from the environment. */
function dbclient(port: number, command: string) {
  const home = tmpDir('xway-dbclient-');
  return run('dbclient', ['-y', '-y', '-p', String(port), 'admin@127.0.0.1', command], undefined, 20_000, { ...process.env, HOME: home, DROPBEAR_PASSWORD: PASSWORD });
}

const PRODUCT = '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n';

// dbclient sends its KEX_ECDH_INIT right after KEXINIT, guessing the server prefers what it
// prefers (first_kex_packet_follows). ssh2 1.17 dropped every guess, right or wrong, and dbclient
// waited for ever: patches/ssh2+1.17.0.patch keeps a right guess, as RFC 4253 section 7 says.
t.test('Dropbear dbclient logs in with a password and runs a command (its key exchange guess is right)', async (t) => {
  const f = await startSsh(t);
  const r = await dbclient(f.port, 'xstat SystemUnit Product');
  t.equal(r.stdout, PRODUCT, r.stderr);
  t.equal(r.code, 0);
  const bad = await dbclient(f.port, 'xFrobnicate');
  t.same([bad.stdout, bad.code], ['Command not recognized.\n', 1]);
});

t.test('dbclient also logs in when its guess is wrong (the server prefers another host key type)', async (t) => {
  // RSA only: the server prefers rsa-sha2-512, dbclient guesses ssh-ed25519. The guessed packet is
  // ignored and dbclient sends it again for the agreed algorithms.
  const rsaOnly = hostKeysFor(tmpDir('xway-rsa-only-')).slice(1);
  const f = await startSsh(t, { hostKeys: rsaOnly });
  const r = await dbclient(f.port, 'xstat SystemUnit Product');
  t.equal(r.stdout, PRODUCT, r.stderr);
  t.equal(r.code, 0);
});
