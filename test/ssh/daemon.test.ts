// The real daemon as a process: environment and flags, first boot, SSH from OpenSSH, the Boot
// command restarting the services in process, clean SIGTERM, and refusal of a damaged database.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpDir } from '../helpers/app.js';
import { openssh, run } from '../helpers/ssh.js';
import { findRoot } from '../../src/platform/version.js';
import { settingsFrom } from '../../src/main.js';
import { EventLog } from '../helpers/events.js';

const MAIN = path.join(findRoot(), 'dist/src/main.js');
const PW = 'daemon test password';

interface Daemon {
  proc: ChildProcess;
  log: () => string;
  events: () => Record<string, unknown>[];
  waitFor(event: string, after?: number, ms?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

function daemon(dataDir: string, env: Record<string, string> = {}, args: string[] = []): Daemon {
  const proc = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH, XWAY_DATA_DIR: dataDir, XWAY_SSH_PORT: '0', XWAY_HTTP_PORT: '0', XWAY_HTTPS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = new EventLog(proc);
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return {
    proc,
    log: () => events.log(),
    events: () => events.events(),
    exited,
    waitFor: (event, after = 0, ms?: number) => events.waitFor(event, after, ms),
  };
}

t.test('settings: flags mirror the environment and win over it', async (t) => {
  const s = settingsFrom(['--ssh-port', '2200', '--bind=::1'], { XWAY_SSH_PORT: '1', XWAY_HTTP_PORT: '81', XWAY_DATA_DIR: '/d' });
  t.equal(s.sshPort, 2200);
  t.equal(s.bind, '::1');
  t.equal(s.httpPort, 81);
  t.equal(s.dataDir, '/d');
  t.equal(settingsFrom([], {}).sshPort, 2222, 'development default');
  t.throws(() => settingsFrom(['--ssh-port', '70000'], {}), /Invalid SSH port 70000: expected <0..65535>/);
  t.throws(() => settingsFrom(['--frobnicate'], {}), /Unknown argument frobnicate/);
});

t.test('first boot, SSH, Boot, SIGTERM', async (t) => {
  const dir = tmpDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const d = daemon(dir, { XWAY_ADMIN_PASSWORD: PW });
  t.teardown(() => void d.proc.kill('SIGKILL'));
  const up = await d.waitFor('daemon.listening');
  const port = Number(up.ssh);
  t.ok(port > 0, 'listening on a free port');
  t.equal((fs.statSync(path.join(dir, 'ssh')).mode & 0o777).toString(8), '700', 'host key directory is private');
  t.notOk(fs.existsSync(path.join(dir, 'admin-password')), 'no password file when it came from the environment');

  let r = await openssh(port, ['xStatus SystemUnit Product'], undefined, PW);
  t.equal(r.stdout, '*s SystemUnit: /\n     Product: "xway"\n*s/end\n\nOK\n');
  t.equal(r.code, 0);

  r = await openssh(port, ['xConfiguration SystemUnit Name: edge-1\nxCommand SystemUnit Boot'], undefined, PW);
  t.match(r.stdout, /^OK\n\*r SystemUnitBootResult \(status=OK\):\n     Message: "Restarting the appliance services"\n\*r\/end\n\nOK\n/);
  const again = await d.waitFor('daemon.listening', 1);
  r = await openssh(Number(again.ssh), ['xStatus SystemUnit Name'], undefined, PW);
  t.equal(r.stdout, '*s SystemUnit: /\n     Name: "edge-1"\n*s/end\n\nOK\n', 'configuration kept across Boot');

  d.proc.kill('SIGTERM');
  t.equal(await d.exited, 0, 'SIGTERM exits 0');
  t.notMatch(d.log(), new RegExp(PW), 'the password never reaches the log');
});

t.test('a generated admin password is never printed: the console names its 0600 file, deleted when the password changes', async (t) => {
  const dir = tmpDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const d = daemon(dir);
  t.teardown(() => void d.proc.kill('SIGKILL'));
  const up = await d.waitFor('daemon.listening');
  const file = path.join(dir, 'admin-password');
  const pw = fs.readFileSync(file, 'utf8').trim();
  t.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
  t.ok(pw.length >= 16, 'a long random password');
  t.notOk(d.log().includes(pw), 'the password is not on the console (it would land in the journal)');
  t.match(d.log(), `the generated admin password is in ${file} (mode 0600)`, 'the console says where it is');
  let r = await openssh(Number(up.ssh), ['xStatus SystemUnit Product'], undefined, pw);
  t.equal(r.code, 0, 'it logs in');
  r = await openssh(Number(up.ssh), ['xCommand SystemUnit AdminPassword Set Password: "a new admin password"'], undefined, pw);
  t.match(r.stdout, /status=OK/);
  t.notOk(fs.existsSync(file), 'the file is deleted once the password is changed');
  t.notOk(d.log().includes('a new admin password'), 'the new password is not logged either');
  d.proc.kill('SIGTERM');
  await d.exited;
  const d2 = daemon(dir);
  t.teardown(() => void d2.proc.kill('SIGKILL'));
  const up2 = await d2.waitFor('daemon.listening');
  t.notMatch(d2.log(), /admin password/, 'nothing said on a later boot');
  t.notOk(fs.existsSync(file), 'and no file made again');
  r = await openssh(Number(up2.ssh), ['xStatus SystemUnit Product'], undefined, 'a new admin password');
  t.equal(r.code, 0, 'the changed password works after a restart');
  d2.proc.kill('SIGTERM');
  await d2.exited;
});

t.test('a damaged database stops the start with the reason', async (t) => {
  const dir = tmpDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'xway.db'), 'this is not a database at all, not even close'.repeat(100));
  const d = daemon(dir, { XWAY_ADMIN_PASSWORD: PW });
  t.teardown(() => void d.proc.kill('SIGKILL'));
  t.equal(await d.exited, 78, 'EX_CONFIG: systemd does not restart it in a loop');
  t.match(d.log(), /cannot be used: .*refusing to start/);
  t.equal(fs.readFileSync(path.join(dir, 'xway.db'), 'utf8').slice(0, 11), 'this is not', 'left as it was');
  fs.writeFileSync(path.join(dir, 'xway.db'), '');
  const d2 = daemon(dir, { XWAY_ADMIN_PASSWORD: PW });
  t.equal(await d2.exited, 78);
  t.match(d2.log(), /is empty \(truncated\?\); refusing to start/);
  const bad = await run(process.execPath, [MAIN, '--ssh-port', 'x'], undefined, 10_000);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /Invalid SSH port x/);
});

t.test('a restart (SystemUnit Boot) that cannot start says why and exits 78, like a first start', async (t) => {
  const dir = tmpDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const d = daemon(dir, { XWAY_ADMIN_PASSWORD: PW });
  t.teardown(() => void d.proc.kill('SIGKILL'));
  const up = await d.waitFor('daemon.listening');
  fs.writeFileSync(path.join(dir, 'ssh', 'ssh_host_ed25519_key'), 'not a key');
  const r = await openssh(Number(up.ssh), ['xCommand SystemUnit Boot'], undefined, PW);
  t.match(r.stdout, /SystemUnitBootResult \(status=OK\)/);
  t.equal(await d.exited, 78);
  t.match(d.log(), /ssh_host_ed25519_key is unreadable.*refusing to start/);
});
