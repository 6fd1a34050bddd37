// The idle timeout: silence closes a session and says so; output, keepalives from the client
// (OpenSSH's ServerAliveInterval) and held feedback registrations keep it open.
import t from 'tap';
import { spawn } from 'node:child_process';
import { startSsh, connect, until, OPENSSH_OPTS, PASSWORD } from '../helpers/ssh.js';
import { ADMIN } from '../helpers/app.js';

type Channel = import('ssh2').ClientChannel;

async function shell(port: number): Promise<{ ch: Channel; out: () => string; closed: Promise<number> }> {
  const c = await connect(port);
  const ch = await new Promise<Channel>((res, rej) => c.shell(false, (e, s) => (e ? rej(e) : res(s))));
  let out = '';
  ch.on('data', (d: Buffer) => (out += d));
  const t0 = Date.now();
  const closed = new Promise<number>((r) =>
    ch.on('close', () => {
      c.end();
      r(Date.now() - t0);
    }),
  );
  await until(ch, /Login successful\n\nOK\n/);
  return { ch, out: () => out, closed };
}

t.test('idle shells close with one line saying why; registrations and keepalives keep sessions open', { timeout: 120_000 }, async (t) => {
  const f = await startSsh(t);
  f.app.services.config.set([{ key: 'Ssh IdleTimeout', value: 2 }], ADMIN);

  // A monitoring script: registers, then only listens.
  const listener = await shell(f.port);
  const reg = until(listener.ch, /OK\n$/);
  listener.ch.write('xFeedback register /Configuration/Http\n');
  await reg;
  let listenerClosed = false;
  void listener.closed.then(() => (listenerClosed = true));

  // OpenSSH with ServerAliveInterval=1 and nothing to say: its keepalive requests are activity.
  const alive = spawn('sshpass', ['-p', PASSWORD, 'ssh', ...OPENSSH_OPTS, '-o', 'ServerAliveInterval=1', '-T', '-p', String(f.port), 'admin@127.0.0.1'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (alive.exitCode === null) alive.kill('SIGKILL');
  });
  let aliveOut = '';
  alive.stdout.on('data', (d) => (aliveOut += d));
  await until(alive.stdout, /Login successful/, 30_000);

  // A silent shell, no keepalives: closed after the timeout, saying so first.
  const silent = await shell(f.port);
  const closedAfter = await silent.closed;
  t.ok(closedAfter >= 1500 && closedAfter < 30_000, `silent shell closed after ${closedAfter} ms`);
  t.match(silent.out(), /\nClosing the session: no activity for 2 seconds \(xConfiguration Ssh IdleTimeout\)\n$/, 'one line saying why');

  // Well past the timeout for the others too (a negative check needs time: 2 timeouts more).
  await new Promise((r) => setTimeout(r, 4_500));
  t.notOk(listenerClosed, 'the session holding a registration is open');
  t.equal(alive.exitCode, null, 'the OpenSSH session sending keepalives is open');
  t.notMatch(aliveOut, /Closing the session/);

  // Both still work.
  const p = until(listener.ch, /Mode: On\n$/);
  f.app.services.config.set([{ key: 'Http Redirect Mode', value: 'On' }], ADMIN);
  await p;
  const answered = until(alive.stdout, /Product: "xway"/, 15_000);
  alive.stdin.write('xStatus SystemUnit Product\n');
  await answered;

  // Deregistered, the listener is idle like any other session.
  const dereg = until(listener.ch, /OK\n$/);
  listener.ch.write('xFeedback deregisterall\n');
  await dereg;
  await listener.closed;
  t.match(listener.out(), /Closing the session: no activity for 2 seconds/);
  alive.stdin.end();
});
