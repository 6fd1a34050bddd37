// SSH benchmarks against the real daemon (dist/src/main.js in a child process):
//  - login + one command with OpenSSH's client, versus OpenSSH's own sshd running `true` with the
//    same client, key type and key exchange, in the same run (the ratio is the figure that counts);
//  - pipelined xStatus requests in one session;
//  - 100 sessions polling xStatus at once for XWAY_BENCH_SSH_SECONDS (default 60): p50/p99
//    latency, errors, peak RSS of the daemon;
//  - cold start (not the first boot) until the SSH port answers with its identification;
//  - one session polling xStatus while another (OpenSSH, a separate process) floods 60 MB of
//    empty lines: p99 latency (issue 13 item 3; test/ssh/ssh-flood.test.ts asserts a looser bound).
// XWAY_BENCH_NODE_FLAGS (e.g. "--max-semi-space-size=1") passes flags to the daemon's node, to
// compare memory settings.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import type { Figure } from './report.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');
const PASSWORD = 'bench-password-1';
const KEX = 'curve25519-sha256';

export interface Daemon {
  proc: ChildProcess;
  port: number;
  /** ms from spawn until the SSH identification arrived. */
  readyMs: number;
  stop(): Promise<void>;
}

function waitFor<T>(what: string, ms: number, fn: (done: (v: T) => void, fail: (e: Error) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    fn(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** Connects and resolves when the server's SSH identification line arrives. */
function identOf(port: number): Promise<void> {
  return waitFor('SSH identification', 10_000, (done, fail) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('data', (d) => {
      if (d.toString().startsWith('SSH-2.0-')) {
        s.destroy();
        done();
      }
    });
    s.on('error', fail);
  });
}

export async function startDaemon(dataDir: string): Promise<Daemon> {
  const t0 = performance.now();
  // The production flags (firmware/xway.service ExecStart, npm start) unless told otherwise.
  const flags = (process.env.XWAY_BENCH_NODE_FLAGS ?? '--max-semi-space-size=2').split(/\s+/).filter(Boolean);
  const proc = spawn(process.execPath, [...flags, MAIN, '--data-dir', dataDir, '--bind', '127.0.0.1', '--ssh-port', '0', '--http-port', '0', '--https-port', '0'], {
    env: { ...process.env, XWAY_ADMIN_PASSWORD: PASSWORD },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await waitFor<number>('daemon.listening', 60_000, (done, fail) => {
    let buf = '';
    proc.stderr!.on('data', (d) => {
      buf += d;
      const m = /"event":"daemon.listening".*?"ssh":(\d+)/.exec(buf);
      if (m) done(Number(m[1]));
    });
    proc.on('exit', (code) => fail(new Error(`daemon exited (${code}): ${buf.slice(-500)}`)));
  });
  await identOf(port);
  const readyMs = performance.now() - t0;
  proc.stderr!.resume();
  return {
    proc,
    port,
    readyMs,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const sshBase = (port: number, key: string) => [
  '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes',
  '-o', 'IdentitiesOnly=yes', '-o', `KexAlgorithms=${KEX}`, '-i', key, '-p', String(port),
];

/** Median wall time of `ssh ... user@127.0.0.1 command`, N runs. */
function loginTimes(port: number, key: string, user: string, command: string, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = spawnSync('ssh', [...sshBase(port, key), `${user}@127.0.0.1`, command], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new Error(`ssh ${user}@127.0.0.1 ${command} failed (${r.status}): ${r.stderr}`);
    out.push(performance.now() - t0);
  }
  return out;
}

/** OpenSSH's sshd on a free port, authorizing `pub` for the current user; undefined if it cannot run. */
async function startSshd(dir: string, pub: string): Promise<{ port: number; stop(): void } | undefined> {
  if (!fs.existsSync('/usr/sbin/sshd')) return undefined;
  fs.mkdirSync('/run/sshd', { recursive: true });
  const hostKey = path.join(dir, 'sshd_host_ed25519');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  fs.writeFileSync(path.join(dir, 'authorized_keys'), pub + '\n', { mode: 0o600 });
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const cfg = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    cfg,
    [
      `ListenAddress 127.0.0.1`, `HostKey ${hostKey}`, 'UsePAM no', 'StrictModes no', 'PermitRootLogin prohibit-password',
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`, `PidFile ${path.join(dir, 'sshd.pid')}`, 'PasswordAuthentication no',
    ].join('\n') + '\n',
  );
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  try {
    await waitFor('sshd', 10_000, (done, fail) => {
      const tryOnce = () => identOf(port).then(done, () => (proc.exitCode === null ? setTimeout(tryOnce, 50) : fail(new Error(err))));
      tryOnce();
    });
  } catch {
    proc.kill('SIGKILL');
    return undefined;
  }
  return { port, stop: () => void proc.kill('SIGTERM') };
}

export function client(port: number): Promise<ssh2.Client> {
  return waitFor('ssh2 login', 30_000, (done, fail) => {
    const c = new ssh2.Client();
    c.on('ready', () => done(c));
    c.on('error', fail);
    c.connect({ host: '127.0.0.1', port, username: 'admin', password: PASSWORD, readyTimeout: 30_000 });
  });
}

export function shell(c: ssh2.Client): Promise<ssh2.ClientChannel> {
  return waitFor('shell', 30_000, (done, fail) => {
    c.shell(false, (err, ch) => {
      if (err) return fail(err);
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d;
        if (buf.endsWith('OK\n')) {
          ch.removeListener('data', onData);
          done(ch);
        }
      };
      ch.on('data', onData);
    });
  });
}

/** Pipelined requests in one session: requests per second. */
async function pipelined(port: number, n: number): Promise<number> {
  const c = await client(port);
  try {
    const ch = await shell(c);
    const t0 = performance.now();
    await waitFor<void>('pipelined replies', 120_000, (done) => {
      let seen = 0;
      let tail = '';
      ch.on('data', (d: Buffer) => {
        const text = tail + d.toString();
        seen += text.split('\nOK\n').length - 1;
        tail = text.slice(-4);
        if (seen >= n) done();
      });
      ch.write('xStatus SystemUnit\n'.repeat(n));
    });
    return n / ((performance.now() - t0) / 1000);
  } finally {
    c.end();
  }
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** `sessions` sessions each polling xStatus SystemUnit one request at a time for `seconds`. */
async function polling(d: Daemon, sessions: number, seconds: number) {
  const clients: ssh2.Client[] = [];
  for (let i = 0; i < sessions; i += 10) clients.push(...(await Promise.all(Array.from({ length: Math.min(10, sessions - i) }, () => client(d.port)))));
  const channels = await Promise.all(clients.map((c) => shell(c)));
  const latencies: number[] = [];
  let errors = 0;
  let peakRss = rssMb(d.proc.pid!);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(d.proc.pid!))), 250);
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    channels.map(
      (ch) =>
        new Promise<void>((resolve) => {
          let buf = '';
          let sent = 0;
          const next = () => {
            if (performance.now() >= end) return resolve();
            buf = '';
            sent = performance.now();
            ch.write('xStatus SystemUnit\n');
          };
          ch.on('data', (dd: Buffer) => {
            buf += dd;
            if (buf.endsWith('\nOK\n')) {
              latencies.push(performance.now() - sent);
              next();
            } else if (/ERROR\n$|recognized\.\n$/.test(buf)) {
              errors++;
              next();
            }
          });
          ch.on('close', () => {
            if (performance.now() < end) errors++;
            resolve();
          });
          next();
        }),
    ),
  );
  clearInterval(sampler);
  clients.forEach((c) => c.end());
  return { latencies, errors, peakRss };
}

/** xStatus latencies in one session while OpenSSH floods another with empty lines. */
async function underFlood(d: Daemon, key: string, seconds: number): Promise<number[]> {
  const c = await client(d.port);
  const flood = spawn('sh', ['-c', `head -c 62914560 /dev/zero | tr '\\0' '\\n' | exec ssh ${sshBase(d.port, key).join(' ')} -T admin@127.0.0.1`], {
    detached: true,
    stdio: 'ignore',
  });
  try {
    const ch = await shell(c);
    await new Promise((r) => setTimeout(r, 1000)); // let the flood fill its session's input
    const latencies: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end && flood.exitCode === null) {
      const t0 = performance.now();
      await waitFor<void>('xStatus under flood', 30_000, (done) => {
        let buf = '';
        const onData = (dd: Buffer) => {
          buf += dd;
          if (buf.endsWith('\nOK\n')) {
            ch.removeListener('data', onData);
            done();
          }
        };
        ch.on('data', onData);
        ch.write('xStatus SystemUnit\n');
      });
      latencies.push(performance.now() - t0);
    }
    return latencies;
  } finally {
    try {
      process.kill(-flood.pid!, 'SIGKILL');
    } catch {
      /* already over */
    }
    c.end();
  }
}

export default async function sshBench(): Promise<Figure[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-bench-ssh-'));
  const figures: Figure[] = [];
  const seconds = Number(process.env.XWAY_BENCH_SSH_SECONDS ?? 60);
  let d: Daemon | undefined;
  let sshd: { port: number; stop(): void } | undefined;
  try {
    const dataDir = path.join(root, 'data');
    // First boot (keys, certificates, database) is excluded from the cold-start figure.
    const first = await startDaemon(dataDir);
    await first.stop();
    d = await startDaemon(dataDir);
    figures.push({ name: 'cold start to SSH identification (not first boot)', value: Math.round(d.readyMs), unit: 'ms', target: '< 1000 ms', met: d.readyMs < 1000 });

    // A client key, authorized on both servers.
    const key = path.join(root, 'id_ed25519');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const pub = fs.readFileSync(key + '.pub', 'utf8').trim();
    const add = spawnSync('sshpass', ['-p', PASSWORD, 'ssh', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'LogLevel=ERROR', '-o', 'PubkeyAuthentication=no', '-p', String(d.port), 'admin@127.0.0.1',
      `xCommand Ssh AuthorizedKey Add Key: "${pub}"`], { encoding: 'utf8', timeout: 20_000 });
    if (add.status !== 0) throw new Error(`could not authorize the bench key: ${add.stdout}${add.stderr}`);

    const N = 15;
    loginTimes(d.port, key, 'admin', 'xStatus SystemUnit', 2); // warm up
    const xway = median(loginTimes(d.port, key, 'admin', 'xStatus SystemUnit', N));
    sshd = await startSshd(root, pub);
    const user = os.userInfo().username;
    const peer = sshd ? (loginTimes(sshd.port, key, user, 'true', 2), median(loginTimes(sshd.port, key, user, 'true', N))) : undefined;
    figures.push({
      name: `ssh login + xStatus SystemUnit (median of ${N}, ${KEX})`, value: Math.round(xway * 10) / 10, unit: 'ms',
      ratio: peer ? xway / peer : undefined, peer: peer ? `sshd 'true' ${peer.toFixed(1)} ms` : undefined,
      target: '<= 0.3x sshd', met: peer ? xway / peer <= 0.3 : undefined,
    });

    const rate = await pipelined(d.port, 20_000);
    figures.push({ name: 'pipelined xStatus SystemUnit in one session', value: Math.round(rate), unit: 'req/s', target: '>= 5000/s', met: rate >= 5000 });

    const p = await polling(d, 100, seconds);
    const p99 = percentile(p.latencies, 99);
    figures.push({ name: `100 sessions polling xStatus for ${seconds} s: requests`, value: p.latencies.length, unit: 'replies' });
    figures.push({ name: '  p50 latency', value: Math.round(percentile(p.latencies, 50) * 10) / 10, unit: 'ms' });
    figures.push({ name: '  p99 latency', value: Math.round(p99 * 10) / 10, unit: 'ms', target: '< 100 ms', met: p99 < 100 });
    figures.push({ name: '  errors', value: p.errors, unit: '', target: '0', met: p.errors === 0 });
    figures.push({ name: '  daemon peak RSS', value: Math.round(p.peakRss), unit: 'MB', target: '< 150 MB', met: p.peakRss < 150 });

    const flooded = await underFlood(d, key, Math.min(seconds, 20));
    const f99 = percentile(flooded, 99);
    figures.push({ name: 'xStatus while another session floods empty lines: p99', value: Math.round(f99 * 10) / 10, unit: 'ms', target: '< 100 ms', met: f99 < 100 });
    return figures;
  } finally {
    sshd?.stop();
    await d?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
