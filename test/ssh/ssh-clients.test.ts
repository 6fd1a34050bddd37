// Real SSH clients other than OpenSSH's ssh: Dropbear's dbclient, legacy SCP (OpenSSH `scp -O`,
// PuTTY's pscp), netmiko running the README's snippet as written.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { startSsh, run, connect, hostKeysFor, PASSWORD, OPENSSH_OPTS } from '../helpers/ssh.js';
import { parseScp, sources } from '../../src/ssh/scp.js';
import { tmpDir } from '../helpers/app.js';

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

const legacyScp = (port: number, args: string[], password = PASSWORD, user = 'admin') =>
  run('sshpass', ['-p', password, 'scp', '-O', ...OPENSSH_OPTS, '-P', String(port), ...args.map((a) => a.replace(/^@/, `${user}@127.0.0.1:`))]);

t.test('legacy SCP (scp -O): uploads into /tmp and downloads from it, with the SFTP limits', async (t) => {
  const f = await startSsh(t, { sftp: { maxFiles: 5 } });
  const local = tmpDir('xway-scp-legacy-');
  t.teardown(() => fs.rmSync(local, { recursive: true, force: true }));
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const at = (n: string) => path.join(local, n);
  fs.writeFileSync(at('ca.pem'), pem);
  fs.writeFileSync(at('two.pem'), 'two\n');
  const stored = (n: string) => path.join(f.app.paths.uploads, n);

  const up = await legacyScp(f.port, [at('ca.pem'), '@/tmp/']);
  t.same([up.code, up.stderr], [0, ''], 'scp -t /tmp/');
  t.equal(fs.readFileSync(stored('ca.pem'), 'utf8'), pem);
  t.equal(fs.statSync(stored('ca.pem')).mode & 0o777, 0o600);
  t.ok(f.app.logLines.some((l) => /"what":"scp upload \/tmp\/ca.pem"/.test(l)), 'audited');
  const both = await legacyScp(f.port, ['-p', at('ca.pem'), at('two.pem'), '@']);
  t.same([both.code, both.stderr], [0, ''], 'two files into the login directory (scp -d -p -t .)');
  t.equal(fs.readFileSync(stored('two.pem'), 'utf8'), 'two\n');
  const renamed = await legacyScp(f.port, [at('ca.pem'), '@/tmp/renamed.pem']);
  t.same([renamed.code, renamed.stderr], [0, ''], 'to a file name');
  t.equal(fs.readFileSync(stored('renamed.pem'), 'utf8'), pem);

  const down = await legacyScp(f.port, ['-p', '@/tmp/renamed.pem', at('back.pem')]);
  t.same([down.code, down.stderr], [0, ''], 'download (scp -p -f)');
  t.equal(fs.readFileSync(at('back.pem'), 'utf8'), pem);
  fs.mkdirSync(at('many'));
  const glob = await legacyScp(f.port, ['@/tmp/*.pem', at('many')]);
  t.same([glob.code, glob.stderr], [0, ''], 'a wildcard');
  t.same(fs.readdirSync(at('many')).sort(), ['ca.pem', 'renamed.pem', 'two.pem']);

  // Refusals: one sentence each from the server, nothing written.
  fs.writeFileSync(at('big.bin'), Buffer.alloc(1024 * 1024 + 1, 1));
  const big = await legacyScp(f.port, [at('big.bin'), '@/tmp/']);
  t.not(big.code, 0);
  t.equal(big.stderr, 'xway: /tmp/big.bin: File too large: at most 1048576 bytes per file; nothing was written\n');
  const outside = await legacyScp(f.port, [at('ca.pem'), '@/etc/']);
  t.not(outside.code, 0);
  t.equal(outside.stderr, 'xway: /etc: No such directory (only plain file names in /tmp are reachable)\n');
  const steal = await legacyScp(f.port, ['@/etc/passwd', at('passwd')]);
  t.not(steal.code, 0);
  t.equal(steal.stderr, 'xway: /etc/passwd: No such file (only plain file names in /tmp are reachable)\n');
  t.notOk(fs.existsSync(at('passwd')));
  const missing = await legacyScp(f.port, ['@/tmp/nothing.pem', at('nothing.pem')]);
  t.equal(missing.stderr, 'xway: /tmp/nothing.pem: No such file\n');
  fs.mkdirSync(at('dir'));
  fs.writeFileSync(at('dir/x.pem'), 'x');
  const recursive = await legacyScp(f.port, ['-r', at('dir'), '@/tmp/']);
  t.not(recursive.code, 0);
  t.equal(recursive.stderr, 'xway: directories are not supported: /tmp holds files only\n');
  fs.writeFileSync(at('s4.pem'), '4');
  fs.writeFileSync(at('s5.pem'), '5');
  fs.writeFileSync(at('s6.pem'), '6');
  const full = await legacyScp(f.port, [at('s4.pem'), at('s5.pem'), at('s6.pem'), '@/tmp/']);
  t.not(full.code, 0);
  t.equal(full.stderr, 'xway: /tmp/s6.pem: Upload area full: /tmp holds at most 5 files; remove some first\n', 'the count limit, file by file');
  t.same(fs.readdirSync(f.app.paths.uploads).sort(), ['ca.pem', 'renamed.pem', 's4.pem', 's5.pem', 'two.pem']);

  // ReadOnly accounts have no access to files (keys, exports with secrets), either way.
  (f.app.accounts as unknown as { ensureAccount(u: string, r: string, p: string): boolean }).ensureAccount('viewer', 'ReadOnly', PASSWORD);
  const ro = await legacyScp(f.port, [at('ca.pem'), '@/tmp/ro.pem'], PASSWORD, 'viewer');
  t.not(ro.code, 0);
  t.equal(ro.stderr, 'xway: Permission denied: ReadOnly accounts have no access to files\n');
  const roDown = await legacyScp(f.port, ['@/tmp/ca.pem', at('ro-back.pem')], PASSWORD, 'viewer');
  t.not(roDown.code, 0);
  t.equal(roDown.stderr, 'xway: Permission denied: ReadOnly accounts have no access to files\n');
  t.notOk(fs.existsSync(at('ro-back.pem')), 'a read-only account may not download either');
});

/** PuTTY's pscp forced to the legacy SCP protocol; the host key is pinned by its fingerprint. */
async function pscp(f: { port: number; app: { paths: { hostKeys: string } } }, args: string[]) {
  const fp = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(f.app.paths.hostKeys, 'ssh_host_ed25519_key.pub')]);
  const sha256 = fp.stdout.split(' ')[1]!;
  const home = tmpDir('xway-pscp-');
  return run('pscp', ['-scp', '-batch', '-pw', PASSWORD, '-hostkey', sha256, '-P', String(f.port), ...args.map((a) => a.replace(/^@/, 'admin@127.0.0.1:'))], undefined, 20_000, { ...process.env, HOME: home });
}

t.test('PuTTY pscp -scp: upload, download, a refusal in words', async (t) => {
  const f = await startSsh(t);
  const local = tmpDir('xway-pscp-files-');
  t.teardown(() => fs.rmSync(local, { recursive: true, force: true }));
  const at = (n: string) => path.join(local, n);
  fs.writeFileSync(at('ca.pem'), 'pem\n');
  const up = await pscp(f, [at('ca.pem'), '@/tmp/']);
  t.equal(up.code, 0, up.stderr);
  t.equal(fs.readFileSync(path.join(f.app.paths.uploads, 'ca.pem'), 'utf8'), 'pem\n');
  t.ok(f.app.logLines.some((l) => /"what":"scp upload \/tmp\/ca.pem"/.test(l)), 'over SCP, not SFTP');
  const down = await pscp(f, ['@/tmp/ca.pem', at('back.pem')]);
  t.equal(down.code, 0, down.stderr);
  t.equal(fs.readFileSync(at('back.pem'), 'utf8'), 'pem\n');
  fs.writeFileSync(at('big.bin'), Buffer.alloc(1024 * 1024 + 1, 1));
  const big = await pscp(f, [at('big.bin'), '@/tmp/']);
  t.not(big.code, 0);
  t.match(big.stderr, /xway: \/tmp\/big\.bin: File too large: at most 1048576 bytes per file; nothing was written/);
  t.notOk(fs.existsSync(path.join(f.app.paths.uploads, 'big.bin')));
});

t.test('parseScp and sources(): what an scp command asks for', async (t) => {
  t.equal(parseScp('xStatus SystemUnit'), undefined, 'not scp: the shell takes it');
  t.same(parseScp('scp -t /tmp/'), { mode: 'sink', targetIsDir: false, preserve: false, paths: ['/tmp/'] });
  t.same(parseScp('scp -v -p -d -t -- .'), { mode: 'sink', targetIsDir: true, preserve: true, paths: ['.'] });
  t.same(parseScp('scp -pf /tmp/a.pem /tmp/b.pem'), { mode: 'source', targetIsDir: false, preserve: true, paths: ['/tmp/a.pem', '/tmp/b.pem'] });
  t.equal(parseScp('scp -r -t /tmp'), 'scp: directories are not supported: /tmp holds files only');
  t.equal(parseScp('scp -x -t /tmp'), 'scp: unsupported option -x');
  t.equal(parseScp('scp /etc/passwd /tmp'), 'scp: this server only takes transfers from an scp client (-t or -f)');
  t.equal(parseScp('scp -t'), 'scp: no file named');
  t.equal(parseScp('scp -t a b'), 'scp: give one target');
  t.same(sources('/tmp/*.pem', ['a.pem', 'b.txt', '.x.pem.tmp', 'c.pem']), [{ name: 'a.pem' }, { name: 'c.pem' }]);
  t.same(sources('?.pem', ['a.pem', 'ab.pem']), [{ name: 'a.pem' }]);
  t.equal(sources('/etc/*', ['a']), '/etc/*: No such file (only plain file names in /tmp are reachable)');
  t.equal(sources('/tmp/*.key', ['a.pem']), '/tmp/*.key: No such file');
  t.equal(sources('/tmp', []), '/tmp: is a directory (directories are not supported)');
  t.same(sources('../tmp/x.pem', []), [{ name: 'x.pem' }]);
});

t.test('scp -t spoken by hand: hostile names and lines are refused, the rest still works', async (t) => {
  const f = await startSsh(t);
  const c = await connect(f.port);
  t.teardown(() => c.end());
  const ch = await new Promise<ssh2.ClientChannel>((res, rej) => c.exec('scp -t /tmp/', (e, s) => (e ? rej(e) : res(s))));
  let got = Buffer.alloc(0);
  ch.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  const exit = new Promise<number>((res) => ch.on('exit', (code: number) => res(code)));
  const next = async (n: number) => {
    const deadline = Date.now() + 10_000;
    while (got.length < n && Date.now() < deadline) await new Promise((r) => {
      const timer = setTimeout(r, deadline - Date.now());
      ch.once('data', () => r(clearTimeout(timer)));
    });
    const out = got.subarray(0, n).toString('latin1');
    got = got.subarray(n);
    return out;
  };
  const line = async () => {
    let s = '';
    while (!s.endsWith('\n')) s += await next(1);
    return s;
  };
  t.equal(await next(1), '\0', 'ready');
  ch.write('C0644 4 ../evil\n');
  t.equal(await line(), '\x01xway: ../evil: Invalid file name: expected letters, digits, . _ - (no path)\n');
  ch.write('C0644 4 .hidden\n');
  t.match(await line(), /^\x01xway: \.hidden: Invalid file name/);
  ch.write('D0755 0 sub\n');
  t.equal(await line(), '\x01xway: directories are not supported: /tmp holds files only\n');
  ch.write('T1700000000 0 1700000000 0\n');
  t.equal(await next(1), '\0');
  ch.write('C0644 4 ok.txt\n');
  t.equal(await next(1), '\0');
  ch.write('abc\n\0');
  t.equal(await next(1), '\0', 'stored');
  ch.write('Zzz\n');
  t.equal(await line(), '\x02xway: protocol error: expected a C, T, D or E line\n');
  t.equal(await exit, 1);
  t.same(fs.readdirSync(f.app.paths.uploads), ['ok.txt']);
  t.equal(fs.readFileSync(path.join(f.app.paths.uploads, 'ok.txt'), 'utf8'), 'abc\n');
});
