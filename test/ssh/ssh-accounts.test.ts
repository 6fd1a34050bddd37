// Accounts over SSH with real clients: keyboard-interactive login prints nothing of its own, a
// ReadOnly account reads but changes nothing and touches no file, a deleted account's session
// ends, and password guessing does not freeze the other sessions.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { startSsh, run, connect, execOn, OPENSSH_OPTS, PASSWORD } from '../helpers/ssh.js';
import { ADMIN, tmpDir } from '../helpers/app.js';

const VIEWER_PW = 'viewer password 1';

/** OpenSSH with sshpass as any user; extra options first (OpenSSH keeps the first value). */
const sshAs = (port: number, user: string, password: string, args: string[], extra: string[] = []) =>
  run('sshpass', ['-p', password, 'ssh', ...extra, ...OPENSSH_OPTS, '-p', String(port), `${user}@127.0.0.1`, ...args]);

t.test('keyboard-interactive login (sshpass + OpenSSH) prints no name or instruction of ours', async (t) => {
  const f = await startSsh(t);
  const r = await sshAs(f.port, 'admin', PASSWORD, ['xStatus SystemUnit Product'], ['-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'LogLevel=INFO']);
  t.equal(r.code, 0, 'logged in');
  t.equal(r.stdout, '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n', 'the reply and nothing else');
  t.notMatch(r.stderr, /xway login/, 'no keyboard-interactive name on the terminal');
  t.ok(f.app.logLines.some((l) => l.includes('"what":"ssh login (keyboard-interactive)"') && l.includes('"result":"success"')), 'it was keyboard-interactive');
});

t.test('a ReadOnly account reads status and configuration, changes nothing, and has no files', async (t) => {
  const f = await startSsh(t);
  f.app.services.config.set([{ key: 'Security Acme ExternalAccount KeyId', value: 'kid-1' }, { key: 'Security Acme ExternalAccount HmacKey', value: 'c2VjcmV0LWhtYWMta2V5' }], ADMIN);
  await f.app.services.accounts.addUser('viewer', 'ReadOnly', VIEWER_PW, ADMIN);
  const as = (cmd: string) => sshAs(f.port, 'viewer', VIEWER_PW, [cmd]);

  let r = await as('xStatus SystemUnit Product');
  t.equal(r.stdout, '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n', 'status');
  r = await as('xConfiguration Security Acme ExternalAccount');
  t.match(r.stdout, /\*c xConfiguration Security Acme ExternalAccount HmacKey: "\(hidden\)"\n/, 'configuration, secrets hidden');
  t.notMatch(r.stdout, /c2VjcmV0/);

  r = await as('xConfiguration SystemUnit Name: "taken"');
  t.match(r.stdout, /Permission denied: SystemUnit Name needs the Admin role/, 'cannot set');
  r = await as('xCommand SystemUnit Configuration Export');
  t.match(r.stdout, /Permission denied: xCommand SystemUnit Configuration Export needs the Admin role/, 'cannot export');
  r = await as('xCommand Security Certificates CA Add File: "/tmp/x.pem"');
  t.match(r.stdout, /Permission denied/, 'cannot name a file');
  r = await as('xCommand SystemUnit User Add Name: "me2" Role: Admin Password: "escalate me please"');
  t.match(r.stdout, /Permission denied/, 'cannot make itself an Admin');
  t.equal(f.app.services.accounts.roleOf('me2'), undefined);

  // Files: an export written by the admin, fetched by nobody else.
  r = await sshAs(f.port, 'admin', PASSWORD, ['xCommand SystemUnit Configuration Export']);
  t.match(r.stdout, /File: "\/tmp\/xway-config.txt"/);
  const local = tmpDir('xway-ro-');
  t.teardown(() => fs.rmSync(local, { recursive: true, force: true }));
  const scp = await run('sshpass', ['-p', VIEWER_PW, 'scp', ...OPENSSH_OPTS, '-P', String(f.port), 'viewer@127.0.0.1:/tmp/xway-config.txt', local]);
  t.not(scp.code, 0, 'scp download refused');
  t.notOk(fs.existsSync(path.join(local, 'xway-config.txt')), 'nothing fetched');
  fs.writeFileSync(path.join(local, 'up.pem'), 'x');
  const up = await run('sshpass', ['-p', VIEWER_PW, 'scp', ...OPENSSH_OPTS, '-P', String(f.port), path.join(local, 'up.pem'), 'viewer@127.0.0.1:/tmp/up.pem']);
  t.not(up.code, 0, 'scp upload refused');
  t.notOk(fs.existsSync(path.join(f.app.paths.uploads, 'up.pem')));
  // Legacy SCP (`scp -O`: `scp -f` / `scp -t` on an exec channel) is refused as well.
  const legacyDown = await run('sshpass', ['-p', VIEWER_PW, 'scp', '-O', ...OPENSSH_OPTS, '-P', String(f.port), 'viewer@127.0.0.1:/tmp/xway-config.txt', local]);
  t.not(legacyDown.code, 0, 'scp -O download refused');
  t.match(legacyDown.stderr, /Permission denied: ReadOnly accounts have no access to files/, 'and says why');
  t.notOk(fs.existsSync(path.join(local, 'xway-config.txt')), 'nothing fetched with scp -O');
  const legacyUp = await run('sshpass', ['-p', VIEWER_PW, 'scp', '-O', ...OPENSSH_OPTS, '-P', String(f.port), path.join(local, 'up.pem'), 'viewer@127.0.0.1:/tmp/up.pem']);
  t.not(legacyUp.code, 0, 'scp -O upload refused');
  t.notOk(fs.existsSync(path.join(f.app.paths.uploads, 'up.pem')));
  const sftp = await run('sshpass', ['-p', VIEWER_PW, 'sftp', ...OPENSSH_OPTS, '-P', String(f.port), 'viewer@127.0.0.1'], 'ls /tmp\n');
  t.not(sftp.code, 0, 'sftp refused');
  t.notMatch(sftp.stdout, /xway-config/, 'not even a listing');
  t.ok(f.app.logLines.some((l) => l.includes('"who":"viewer"') && l.includes('"what":"sftp"') && l.includes('PermissionDenied')), 'refusals audited');
});

t.test('deleting an account ends its open sessions', async (t) => {
  const f = await startSsh(t);
  await f.app.services.accounts.addUser('viewer', 'ReadOnly', VIEWER_PW, ADMIN);
  const c = await connect(f.port, { username: 'viewer', password: VIEWER_PW });
  const closed = new Promise<void>((r) => c.on('close', () => r()));
  t.match((await execOn(c, 'xStatus SystemUnit Product')).out, /Product: "xway"/);
  const admin = await connect(f.port);
  t.teardown(() => admin.end());
  t.match((await execOn(admin, 'xCommand SystemUnit User Delete Name: viewer')).out, /status=OK/);
  await closed;
  t.pass('the deleted account was disconnected');
  const again = await sshAs(f.port, 'viewer', VIEWER_PW, ['xStatus SystemUnit Product']);
  t.not(again.code, 0, 'and cannot log in again');
});

t.test('40 concurrent password guessers do not freeze an admin session', async (t) => {
  // No penalty delay and no early disconnect: the guessers keep the password checks busy.
  const f = await startSsh(t, { policy: { maxStartups: { begin: 100, rate: 100, full: 100 }, maxUnauthenticatedPerSource: 100, maxAuthTries: 1000, penaltyBaseMs: 0, penaltyMaxMs: 0, lockoutFailures: 1_000_000 } });
  const admin = await connect(f.port);
  t.teardown(() => admin.end());
  const failures = () => f.app.logLines.filter((l) => l.includes('"what":"ssh login (password)"') && l.includes('"result":"failure"')).length;
  let stop = false;
  const guessers = Array.from({ length: 40 }, (_, i) =>
    new Promise<void>((resolve) => {
      const user = i % 2 ? 'admin' : `guess${i}`;
      const c = new ssh2.Client();
      let tries = 0;
      c.on('error', () => resolve());
      c.on('close', () => resolve());
      c.connect({
        host: '127.0.0.1', port: f.port, username: user, readyTimeout: 120_000,
        // Bounded: 200 guesses per connection at most, and none once the measurement is over.
        authHandler: (_left, _partial, next) => {
          if (stop || ++tries > 200) return next(false as never);
          next({ type: 'password', username: user, password: `wrong ${tries}` });
        },
      });
    }),
  );
  // Measure once the guessing is under way.
  const t0 = Date.now();
  while (failures() < 40 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
  const before = failures();
  const latencies: number[] = [];
  // Work until 40 more guesses were answered meanwhile (bounded in count and time).
  const t1 = Date.now();
  while ((failures() - before < 40 || latencies.length < 20) && latencies.length < 1000 && Date.now() - t1 < 120_000) {
    const s = performance.now();
    const r = await execOn(admin, 'xStatus SystemUnit Product');
    latencies.push(performance.now() - s);
    if (!/Product: "xway"/.test(r.out)) t.fail(`unexpected reply ${JSON.stringify(r.out)}`);
  }
  const during = failures() - before;
  stop = true;
  await Promise.all(guessers);
  latencies.sort((a, b) => a - b);
  const worst = latencies[latencies.length - 1]!;
  t.ok(during >= 40, `${during} failed guesses were answered while the admin worked`);
  // Blocking scrypt made this ~3 s; generous for a busy 2-core machine.
  t.ok(worst < 1500, `admin xStatus x${latencies.length}: median ${latencies[latencies.length >> 1]!.toFixed(0)} ms, worst ${worst.toFixed(0)} ms`);
});
