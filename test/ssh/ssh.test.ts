// The SSH shell over loopback with real clients: OpenSSH (exec, piped shell, `ssh -tt` through a
// pty), the ssh2 client (keyboard-interactive, public key, many sessions at once). Byte-exact.
import t from 'tap';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import pty from 'node-pty';
import { startSsh, openssh, run, connect, execOn, until, PASSWORD, OPENSSH_OPTS } from '../helpers/ssh.js';
import { ADMIN, tmpDir } from '../helpers/app.js';
import { generateSshKeyPair } from '../../src/ssh/hostkeys.js';
import { ALGORITHMS } from '../../src/ssh/algorithms.js';
import { RawSsh, parseKexinit, kexinitPacket, parseDisconnect } from '../helpers/rawssh.js';

const noUptime = (s: string) => s.replace(/Uptime: \d+/g, 'Uptime: N');

t.test('OpenSSH exec: exact bytes, LF line ends, exit status 0 or 1', async (t) => {
  const f = await startSsh(t);
  const expected = (await f.app.run('xStatus SystemUnit', 'exec')).out;
  t.match(expected, /^\*s SystemUnit: \/\n {5}Product: "xway"\n/);

  const ok = await openssh(f.port, ['xStatus SystemUnit']);
  t.equal(ok.code, 0);
  t.equal(noUptime(ok.stdout), noUptime(expected));
  t.equal(ok.stderr, '');

  const unknown = await openssh(f.port, ['xFrobnicate']);
  t.equal(unknown.stdout, 'Command not recognized.\n');
  t.equal(unknown.code, 1);

  const bad = await openssh(f.port, ['xConfiguration Http Redirect Mode: Sideways']);
  t.equal(
    bad.stdout,
    '*r ConfigurationResult (status=Error):\n     Reason: "Invalid value Sideways for Http Redirect Mode: expected <On/Off>"\n*r/end\n\nERROR\n',
  );
  t.equal(bad.code, 1);
  t.equal(f.app.services.config.get('Http Redirect Mode'), 'Off', 'nothing changed');

  const set = await openssh(f.port, ['xConfiguration Http Redirect Mode: On']);
  t.same([set.stdout, set.code], ['OK\n', 0]);
  const get = await openssh(f.port, ['xconf Http Redirect Mode']);
  t.same([get.stdout, get.code], ['*c xConfiguration Http Redirect Mode: On\nOK\n', 0]);

  const two = await openssh(f.port, ['xconf Http Redirect Mode\nxFoo']);
  t.same([two.stdout, two.code], ['*c xConfiguration Http Redirect Mode: On\nOK\nCommand not recognized.\n', 1], 'several lines in one exec');
});

t.test('lines piped into a plain shell run in order; exit status at end of input', async (t) => {
  const f = await startSsh(t);
  const r = await openssh(f.port, [], 'xconf Http Redirect Mode\r\n\nxstat SystemUnit Product\n');
  t.equal(r.code, 0);
  t.equal(
    r.stdout,
    f.app.banner() + '\n*r Login successful\n\nOK\n' +
      '*c xConfiguration Http Redirect Mode: Off\nOK\n' +
      '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n',
  );
  const failed = await openssh(f.port, [], 'xFoo\nxconf Http Redirect Mode\n');
  t.equal(failed.code, 1, 'one failure makes the exit status 1');
  const bye = await openssh(f.port, [], 'bye\nxconf Http Redirect Mode\n');
  t.equal(bye.code, 0);
  t.notMatch(bye.stdout, /\*c/, 'nothing runs after bye');
});

t.test('ssh -tt with stdin closed ends at once (channel EOF ends the session)', async (t) => {
  const f = await startSsh(t);
  const start = Date.now();
  const r = await openssh(f.port, ['-tt'], '');
  t.equal(r.code, 0);
  t.ok(Date.now() - start < 10_000);
  t.match(r.stdout, /\*r Login successful\r\n\r\nOK\r\n/, 'CRLF on a pty');
  const exec = await openssh(f.port, ['-tt', 'xconf Http Redirect Mode'], '');
  t.same([exec.stdout, exec.code], ['*c xConfiguration Http Redirect Mode: Off\r\nOK\r\n', 0], 'exec with a pty: CRLF');
});

t.test('interactive ssh -tt through a pty: echo, CRLF, editing, completion, bye', async (t) => {
  const f = await startSsh(t);
  const term = pty.spawn('sshpass', ['-p', PASSWORD, 'ssh', '-tt', ...OPENSSH_OPTS, '-p', String(f.port), 'admin@127.0.0.1'], {
    name: 'xterm', cols: 200, rows: 50, cwd: os.tmpdir(), env: process.env as Record<string, string>,
  });
  t.teardown(() => {
    try {
      term.kill('SIGKILL');
    } catch {
      /* gone already */
    }
  });
  let out = '';
  const waiters: { re: RegExp; from: number; resolve: (s: string) => void }[] = [];
  term.onData((d) => {
    out += d;
    for (const w of [...waiters]) {
      const seen = out.slice(w.from);
      if (w.re.test(seen)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(seen);
      }
    }
  });
  const exited = new Promise<number>((r) => term.onExit(({ exitCode }) => r(exitCode)));
  const expect = (re: RegExp, ms = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const from = out.length;
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re}: ${JSON.stringify(out.slice(from))}`)), ms);
      waiters.push({ re, from, resolve: (s) => (clearTimeout(timer), resolve(s)) });
    });
  const send = async (keys: string, re: RegExp) => {
    const p = expect(re);
    term.write(keys);
    return p;
  };

  await expect(/OK\r\n$/);
  t.equal(out.slice(out.indexOf('Welcome')), f.app.banner().replace(/\n/g, '\r\n') + '\r\n*r Login successful\r\n\r\nOK\r\n');

  let got = await send('xConfiguration Http Redirect Mode\r', /OK\r\n$/);
  t.equal(got, 'xConfiguration Http Redirect Mode\r\n*c xConfiguration Http Redirect Mode: Off\r\nOK\r\n', 'echo then reply, CRLF');

  got = await send('xFrob\r', /recognized\.\r\n$/);
  t.equal(got, 'xFrob\r\nCommand not recognized.\r\n');

  // Edit: type, erase two characters, retype; the line that runs is the edited one.
  got = await send('xconf Http Redirect Modx\x7f\x7fde\r', /OK\r\n$/);
  t.match(got, /\*c xConfiguration Http Redirect Mode: Off\r\nOK\r\n$/);

  // History: Up brings the last line back.
  got = await send('\x1b[A\r', /OK\r\n$/);
  t.match(got, /\*c xConfiguration Http Redirect Mode: Off\r\nOK\r\n$/);

  // Tab completes a unique prefix of the verb.
  got = await send('xstat\t', /\x1b\[J$/);
  t.equal(got, 'xstat\x1b[5DxStatus \x1b[J', 'the line is rewritten with the completed verb');
  got = await send('SystemUnit Product\r', /OK\r\n$/);
  t.match(got, /\*s SystemUnit: \/\r\n {5}Product: "xway"\r\n\*s\/end\r\n\r\nOK\r\n$/);

  // `?` and `??` are typed, key by key, then asked with Enter; pasted, the same.
  got = await send('xConfiguration Http ?', /\?$/);
  t.equal(got, 'xConfiguration Http ?', 'the first ? is echoed, nothing is submitted');
  got = await send('?', /\?$/);
  t.equal(got, '?');
  got = await send('\r', /(OK|ERROR)\r\n$/);
  t.match(got, /^\r\n\*\? xConfiguration Http Redirect Mode: <On\/Off>/);
  got = await send('xConfiguration Http ?\r', /(OK|ERROR)\r\n$/);
  t.match(got, /^xConfiguration Http \?\r\n/);
  t.match(got, /Redirect/);

  // Ctrl-C drops the line; nothing runs.
  got = await send('xconf Http Redirect Mode: On\x03', /\^C\r\n$/);
  t.equal(f.app.services.config.get('Http Redirect Mode'), 'Off');

  term.write('bye\r');
  t.equal(await exited, 1, 'bye ends the session; exit status 1 since one request failed (xFrob)');
});

t.test('keyboard-interactive (as jsxapi logs in) and public-key login', async (t) => {
  const f = await startSsh(t);
  const kbd = new ssh2.Client();
  const prompts: string[] = [];
  await new Promise<void>((resolve, reject) => {
    kbd.on('keyboard-interactive', (_n, _i, _l, ps, finish) => {
      prompts.push(...ps.map((p) => p.prompt));
      finish([PASSWORD]);
    });
    kbd.on('ready', () => resolve());
    kbd.on('error', reject);
    kbd.connect({ host: '127.0.0.1', port: f.port, username: 'admin', tryKeyboard: true, readyTimeout: 120_000 });
  });
  t.same(prompts, ['Password: ']);
  const kbdLogins = () => f.app.logLines.filter((l) => /ssh login \(keyboard-interactive\)/.test(l) && /"result":"success"/.test(l)).length;
  const before = kbdLogins();
  const viaOpenssh = await openssh(f.port, ['xstat SystemUnit Product'], undefined, PASSWORD, ['-o', 'PreferredAuthentications=keyboard-interactive']);
  t.same([viaOpenssh.code, viaOpenssh.stdout], [0, '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n'], 'OpenSSH keyboard-interactive');
  t.equal(kbdLogins(), before + 1, 'it really was keyboard-interactive');
  const r = await execOn(kbd, 'xstat SystemUnit Product');
  t.same(r, { out: '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n', code: 0 });
  kbd.end();

  // Public key: an ed25519 key authorized through the account service.
  const pair = generateSshKeyPair('ed25519');
  f.app.services.accounts.addKey('admin', pair.public + ' test@key', ADMIN);
  const k = await connect(f.port, { password: undefined, privateKey: pair.private });
  const r2 = await execOn(k, 'xstat SystemUnit Product');
  t.equal(r2.code, 0);
  k.end();

  // The same with OpenSSH, and an unknown key is refused.
  const dir = tmpDir('xway-key-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'id'), pair.private, { mode: 0o600 });
  const other = generateSshKeyPair('ed25519');
  fs.writeFileSync(path.join(dir, 'other'), other.private, { mode: 0o600 });
  const base = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-p', String(f.port)];
  const good = await run('ssh', [...base, '-i', path.join(dir, 'id'), 'admin@127.0.0.1', 'xstat SystemUnit Product']);
  t.same([good.code, good.stdout], [0, '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n']);
  const refused = await run('ssh', [...base, '-i', path.join(dir, 'other'), 'admin@127.0.0.1', 'xstat']);
  t.equal(refused.code, 255);
  t.match(refused.stderr, /Permission denied/);
  t.ok(f.app.logLines.some((l) => /"audit":true/.test(l) && /ssh login \(publickey\)/.test(l) && /"result":"success"/.test(l)), 'login audited');
  t.notOk(f.app.logLines.some((l) => l.includes(PASSWORD)), 'the password never reaches the log');
});

t.test('only modern algorithms; strict key exchange', async (t) => {
  const f = await startSsh(t);
  const refused: [string, string][] = [
    ['Ciphers', 'aes128-cbc'],
    ['KexAlgorithms', 'diffie-hellman-group14-sha1'],
    ['KexAlgorithms', 'ecdh-sha2-nistp256'],
    ['HostKeyAlgorithms', 'ecdsa-sha2-nistp256'],
  ];
  for (const [opt, value] of refused) {
    const r = await openssh(f.port, ['true'], undefined, PASSWORD, ['-o', `${opt}=${value}`]);
    t.same([r.code, r.stdout], [255, ''], `${opt}=${value} refused`);
  }
  const mac = await openssh(f.port, ['true'], undefined, PASSWORD, ['-o', 'Ciphers=aes128-ctr', '-o', 'MACs=hmac-sha1']);
  t.equal(mac.code, 255, 'hmac-sha1 refused');
  const sha1HostKey = await openssh(f.port, ['xstat SystemUnit Product'], undefined, PASSWORD, ['-o', 'HostKeyAlgorithms=ssh-rsa', '-o', 'LogLevel=INFO']);
  t.equal(sha1HostKey.code, 255, 'a client that insists on ssh-rsa (SHA-1) host key signatures gets no session');
  t.equal(sha1HostKey.stdout, '');
  t.match(sha1HostKey.stderr, /no matching host key type found\. Their offer: ssh-ed25519,rsa-sha2-512,rsa-sha2-256\s*$/, 'and OpenSSH says why');
  const v = await openssh(f.port, ['-v', 'true']);
  // Strict KEX (Terrapin countermeasure): sequence numbers restart after NEWKEYS.
  t.match(v.stderr, /resetting send seqnr/);
  t.match(v.stderr, /kex: algorithm: curve25519-sha256/);
});

t.test('the KEXINIT offers no ssh-rsa (SHA-1) host key signatures; a client with only those is told why', async (t) => {
  const f = await startSsh(t);
  const raw = new RawSsh(f.port);
  t.teardown(() => raw.close());
  t.match(await raw.identify(), /^SSH-2\.0-xway/);
  const offer = parseKexinit(await raw.packet());
  t.same(offer.serverHostKey, ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'], 'ssh2 no longer appends ssh-rsa');
  t.same(offer.kex, [...(ALGORITHMS.kex as string[]), 'kex-strict-s-v00@openssh.com']);
  t.same(offer.cipherSC, ALGORITHMS.cipher);
  t.same(offer.macSC, ALGORITHMS.hmac);
  t.same(offer.compressSC, ['none']);

  // A client as old as can be: everything agrees except the host key type.
  raw.send(kexinitPacket({ ...offer, kex: ['curve25519-sha256'], serverHostKey: ['ssh-rsa'] }));
  const bye = parseDisconnect(await raw.packet());
  t.same(bye, { reason: 3, description: 'Handshake failed: no matching host key format' }, 'KEY_EXCHANGE_FAILED, in words');
  // The log line is written as the disconnect is sent, before the client can read it.
  t.ok(f.app.logLines.some((l) => /"event":"ssh\.handshake-failed".*"reason":"Handshake failed: no matching host key format"/.test(l)), 'logged');
});

t.test('ssh-audit finds nothing to fail', async (t) => {
  const f = await startSsh(t);
  const r = await run('ssh-audit', ['-n', '-p', String(f.port), '127.0.0.1'], undefined, 60_000);
  t.match(r.stdout, /# host-key algorithms/, r.stderr);
  t.notMatch(r.stdout, /\[fail\]/);
  t.same(r.stdout.match(/^\(key\) \S+/gm), ['(key) ssh-ed25519', '(key) rsa-sha2-512', '(key) rsa-sha2-256'], 'no ssh-rsa (SHA-1) host key signatures');
});

t.test('idle timeout from the configuration closes a silent session', async (t) => {
  const f = await startSsh(t);
  f.app.services.config.set([{ key: 'Ssh IdleTimeout', value: 1 }], ADMIN);
  const c = await connect(f.port);
  t.teardown(() => c.end());
  const start = Date.now();
  const closed = await new Promise<number>((resolve, reject) => {
    c.shell(false, (err, ch) => {
      if (err) return reject(err);
      ch.resume();
      ch.on('close', () => resolve(Date.now() - start));
    });
  });
  t.ok(closed >= 900 && closed < 8000, `closed after ${closed} ms`);
});

t.test('50 concurrent sessions on one connection each', async (t) => {
  // 50 logins at once from one address are past MaxStartups (test/ssh/ssh-limits.test.ts covers
  // that); this test is about sessions, so the login limits make room for them.
  const f = await startSsh(t, { policy: { maxStartups: { begin: 60, rate: 100, full: 60 }, maxUnauthenticatedPerSource: 60 } });
  const clients = await Promise.all(Array.from({ length: 50 }, () => connect(f.port)));
  t.teardown(() => clients.forEach((c) => c.end()));
  const results = await Promise.all(clients.map((c, i) => execOn(c, `xstat SystemUnit Product | resultId="${i}"`)));
  for (const r of results) t.same(r, { out: '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n', code: 0 });
  // A second round on the same connections: sessions are independent and reusable.
  const shells = await Promise.all(
    clients.slice(0, 10).map(
      (c) =>
        new Promise<string>((resolve, reject) =>
          c.shell(false, (err, ch) => {
            if (err) return reject(err);
            until(ch, /OK\n$/).then(() => {
              const p = until(ch, /Mode: Off\nOK\n$/);
              ch.write('xconf Http Redirect Mode\n');
              p.then((s) => {
                ch.end();
                resolve(s);
              }, reject);
            }, reject);
          }),
        ),
    ),
  );
  t.equal(shells.length, 10);
  t.equal(f.server.connections(), 50);
});

t.test('feedback over a half-typed line: the line is cleared, the output written, the line painted again', async (t) => {
  const f = await startSsh(t);
  const c = await connect(f.port);
  t.teardown(() => c.end());
  const ch = await new Promise<import('ssh2').ClientChannel>((resolve, reject) =>
    c.shell({ term: 'xterm', cols: 120, rows: 40 }, (err, s) => (err ? reject(err) : resolve(s))),
  );
  await until(ch, /OK\r\n$/);
  let p = until(ch, /OK\r\n$/);
  ch.write('xFeedback register /Configuration/Http\r');
  await p;
  p = until(ch, /xsta$/);
  ch.write('xsta');
  await p;
  p = until(ch, /\x1b\[J$/);
  f.app.services.config.set([{ key: 'Http Redirect Mode', value: 'On' }], ADMIN);
  t.equal(await p, '\r\x1b[J*c xConfiguration Http Redirect Mode: On\r\n\rxsta\x1b[J');
  p = until(ch, /OK\r\n$/);
  ch.write('t SystemUnit Product\r');
  t.equal(await p, 't SystemUnit Product\r\n*s SystemUnit: /\r\n     Product: "xway"\r\n*s/end\r\n\r\nOK\r\n', 'typing goes on where it was');
});

t.test('exec with a multiline payload on stdin', async (t) => {
  const f = await startSsh(t);
  const exported = await openssh(f.port, ['xCommand SystemUnit Configuration Export File: "c.txt"']);
  t.equal(exported.code, 0, exported.stdout);
  const text = f.app.services.uploads.read('/tmp/c.txt', 1 << 20).toString('utf8').replace('Http Redirect Mode: "Off"', 'Http Redirect Mode: "On"');
  t.match(text, /Http Redirect Mode: "On"/);
  const r = await openssh(f.port, ['xCommand SystemUnit Configuration Import'], text + '.\n');
  t.equal(r.code, 0, r.stdout);
  t.match(r.stdout, /^\*r SystemUnitConfigurationImportResult \(status=OK\):\n/);
  t.equal(f.app.services.config.get('Http Redirect Mode'), 'On');
});

t.test('a client that does not read its replies is throttled, and loses nothing', async (t) => {
  const f = await startSsh(t);
  const c = await connect(f.port);
  t.teardown(() => c.end());
  const ch = await new Promise<import('ssh2').ClientChannel>((resolve, reject) => c.shell(false, (err, s) => (err ? reject(err) : resolve(s))));
  await until(ch, /OK\n$/);
  ch.pause();
  const N = 20_000;
  ch.write('xStatus SystemUnit Product\n'.repeat(N));
  await new Promise((r) => setTimeout(r, 1000));
  let replies = 0;
  let tail = '';
  const done = new Promise<void>((resolve) => {
    ch.on('data', (d: Buffer) => {
      const text = tail + d.toString();
      replies += text.split('\nOK\n').length - 1;
      tail = text.slice(-3);
      if (replies >= N) resolve();
    });
  });
  ch.resume();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
  clearTimeout(timer);
  t.equal(replies, N, 'every reply arrives once the client reads');
});

t.test('xml and json output modes over SSH: documents only, no OK', async (t) => {
  const f = await startSsh(t);
  const xml = await openssh(f.port, ['xPreferences outputmode xml\nxstat SystemUnit Product | resultId="a"\nxFoo | resultId="b"']);
  t.equal(
    xml.stdout,
    '<?xml version="1.0"?>\n<XmlDoc resultId="a">\n  <Status>\n    <SystemUnit>\n      <Product>xway</Product>\n    </SystemUnit>\n  </Status>\n</XmlDoc>\n' +
      '<?xml version="1.0"?>\n<XmlDoc resultId="b">\n  <CommandResponse>\n    <Result status="Error">\n      <Reason>Command not recognized.</Reason>\n    </Result>\n  </CommandResponse>\n</XmlDoc>\n',
    'the preferences command is answered in its new mode: untagged, that is nothing',
  );
  t.equal(xml.code, 1);
  const json = await openssh(f.port, [], 'echo off\nxpreferences outputmode json\nxconf Http Redirect Mode | resultId="1"\nxconf Http Redirect Mode: On | resultId="2"\nxconf Http Redirect Mode: On\n');
  t.equal(
    json.stdout,
    f.app.banner() + '\n*r Login successful\n\nOK\nOK\n' +
      '{"Configuration":{"Http":{"Redirect":{"Mode":{"Value":"Off"}}}},"ResultId":"1"}\n' +
      '{"ResultId":"2"}\n',
    'an untagged success in json mode writes nothing at all',
  );
  t.equal(json.code, 0);
});

t.test('the line editor wraps at the width the pty asked for, and follows window changes', async (t) => {
  const f = await startSsh(t);
  const c = await connect(f.port);
  t.teardown(() => c.end());
  const ch = await new Promise<import('ssh2').ClientChannel>((resolve, reject) =>
    c.shell({ term: 'xterm', cols: 10, rows: 40 }, (err, s) => (err ? reject(err) : resolve(s))),
  );
  await until(ch, /OK\r\n$/);
  let p = until(ch, /Syst \x1b\[J\r$/);
  ch.write('xstat Syst');
  t.equal(await p, 'xstat Syst \x1b[J\r', 'the tenth column filled: a soft wrap moves the cursor to the next row at once');
  p = until(ch, /\x1b\[1A\r$/);
  ch.write('\x01');
  t.equal(await p, '\x1b[1A\r', 'Home goes up a row');
  ch.setWindow(40, 200, 0, 0);
  await new Promise((r) => setTimeout(r, 200));
  p = until(ch, /\x1b\[10C$/);
  ch.write('\x05');
  t.equal(await p, '\x1b[10C', 'after the resize the whole line is on one row');
  p = until(ch, /OK\r\n$/);
  ch.write('emUnit Product\r');
  t.match(await p, /Product: "xway"\r\n\*s\/end\r\n\r\nOK\r\n$/);
});

t.test('Ctrl-C abandons a multiline paste in an interactive session; Ctrl-D on an empty line ends it', async (t) => {
  const f = await startSsh(t);
  const c = await connect(f.port);
  t.teardown(() => c.end());
  const ch = await new Promise<import('ssh2').ClientChannel>((resolve, reject) =>
    c.shell({ term: 'xterm', cols: 120, rows: 40 }, (err, s) => (err ? reject(err) : resolve(s))),
  );
  let exit: number | undefined;
  ch.on('exit', (code: number) => (exit = code));
  await until(ch, /OK\r\n$/);
  let p = until(ch, /Mode: "On"\r\n$/);
  ch.write('xCommand SystemUnit Configuration Import\rxConfiguration Http Redirect Mode: "On"\r');
  await p;
  p = until(ch, /ERROR\r\n$/);
  ch.write('\x03');
  const got = await p;
  t.match(got, /^\^C\r\n\*r SystemUnitConfigurationImportResult \(status=Error\):\r\n {5}Reason: "Multiline input interrupted; nothing was changed"\r\n\*r\/end\r\n\r\nERROR\r\n$/);
  t.equal(f.app.services.config.get('Http Redirect Mode'), 'Off', 'nothing was imported');
  const closed = new Promise<void>((r) => ch.on('close', () => r()));
  ch.write('\x04');
  await closed;
  t.equal(exit, 1, 'Ctrl-D ends the session; exit status 1 after the failed request');
});

t.test('finished channels free their slot; a login with nothing running is closed when idle', async (t) => {
  const f = await startSsh(t, { maxSessionsPerConnection: 2 });
  f.app.services.config.set([{ key: 'Ssh IdleTimeout', value: 2 }], ADMIN);
  const c = await connect(f.port);
  t.teardown(() => c.end());
  for (let i = 0; i < 4; i++) t.same(await execOn(c, 'xstat SystemUnit Product'), { out: '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n', code: 0 });
  const start = Date.now();
  await new Promise<void>((resolve) => c.on('close', () => resolve()));
  const ms = Date.now() - start;
  t.ok(ms >= 1500 && ms < 8000, `a connection with nothing running closed after ${ms} ms`);
});
