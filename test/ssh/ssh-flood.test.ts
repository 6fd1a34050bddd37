// One session flooding the shell with empty lines (they get no reply, so nothing pushes back but
// SSH flow control) must not freeze the others. The flood comes from a separate OpenSSH process,
// so the CPU it burns is not this process's.
import t from 'tap';
import { spawn } from 'node:child_process';
import { startSsh, connect, until, OPENSSH_OPTS, PASSWORD } from '../helpers/ssh.js';

t.test("a flooding session leaves another session's xStatus fast", { timeout: 180_000 }, async (t) => {
  const f = await startSsh(t);
  const probe = await connect(f.port);
  t.teardown(() => probe.end());
  const ch = await new Promise<import('ssh2').ClientChannel>((res, rej) => probe.shell(false, (e, c) => (e ? rej(e) : res(c))));
  await until(ch, /Login successful\n\nOK\n/);

  const ask = async () => {
    const t0 = performance.now();
    const got = until(ch, /Product: "xway"\n\*s\/end\n\nOK\n$/, 15_000);
    ch.write('xStatus SystemUnit Product\n');
    await got;
    return performance.now() - t0;
  };
  for (let i = 0; i < 5; i++) await ask(); // warm up

  // 60 MB of empty lines through OpenSSH, as the probe did.
  const flood = spawn(
    'sh',
    ['-c', `head -c 62914560 /dev/zero | tr '\\0' '\\n' | exec sshpass -p '${PASSWORD}' ssh ${OPENSSH_OPTS.join(' ')} -T -p ${f.port} admin@127.0.0.1`],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let floodOut = '';
  flood.stdout!.on('data', (d) => (floodOut += d));
  const floodDone = new Promise<void>((r) => flood.on('close', () => r()));
  t.teardown(() => {
    try {
      process.kill(-flood.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
  await until(flood.stdout!, /Login successful/, 30_000);
  const times: number[] = [];
  const started = performance.now();
  while (times.length < 200 && performance.now() - started < 8_000) times.push(await ask());
  const floodStillRunning = flood.exitCode === null;
  process.kill(-flood.pid!, 'SIGKILL');
  await floodDone;
  times.sort((a, b) => a - b);
  const p99 = times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]!;
  t.ok(floodStillRunning, 'the flood was still going while we measured');
  t.ok(times.length >= 10, `${times.length} requests answered during the flood`);
  t.ok(p99 < 1000, `xStatus p99 ${p99.toFixed(1)} ms during the flood (target 100 ms, see bench/)`);
  t.notMatch(floodOut, /backlog too large/, 'flow control held the flood back: the session was never overrun');
});
