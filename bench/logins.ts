// Password guessing against the real daemon (dist/src/main.js in a child process): 40 guessers,
// each making one wrong password attempt per connection from a fresh loopback source address
// (127.c.b.a, each used once, so per-source penalties only add their first 0.5 s, as with a botnet), for
// XWAY_BENCH_LOGIN_SECONDS (default 20). Meanwhile an admin session polls xStatus (50/s) and a fresh
// admin login is timed every second. The same figures without guessers come first, as the peer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { Figure } from './report.js';
import { client, percentile, shell, startDaemon } from './ssh.js';

const GUESSERS = 40;

/**
 * xStatus round trips in one session, one every 20 ms (an admin's scripts, not a load test: a
 * saturating loop would take the CPU the password checks need), until `until`; latencies in ms.
 */
async function poll(ch: ssh2.ClientChannel, until: number): Promise<number[]> {
  const out: number[] = [];
  while (performance.now() < until && out.length < 100_000) {
    if (out.length) await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d;
        if (buf.endsWith('\nOK\n')) {
          ch.removeListener('data', onData);
          resolve();
        }
      };
      ch.on('data', onData);
      ch.write('xStatus SystemUnit\n');
    });
    out.push(performance.now() - t0);
  }
  return out;
}

/** A fresh admin login (ssh2, password) every second until `until`; times in ms. */
async function logins(port: number, until: number): Promise<number[]> {
  const out: number[] = [];
  while (performance.now() < until && out.length < 1000) {
    const t0 = performance.now();
    const c = await client(port);
    out.push(performance.now() - t0);
    c.end();
    await new Promise((r) => setTimeout(r, 1000));
  }
  return out;
}

/** One guesser: connect from a new source, one wrong password, repeat until `until`. Answers counted. */
async function guesser(port: number, i: number, until: number, answered: { n: number }): Promise<void> {
  let round = 0;
  while (performance.now() < until && round < 2000) {
    round++;
    // A source never used before: 127.c.b.a from (guesser, round).
    const idx = i * 2000 + round;
    const source = `127.${Math.floor(idx / 62_500) + 2}.${(Math.floor(idx / 250) % 250) + 1}.${(idx % 250) + 1}`;
    await new Promise<void>((resolve) => {
      const c = new ssh2.Client();
      let tried = false;
      const finish = () => {
        c.removeAllListeners();
        c.on('error', () => {});
        c.end();
        resolve();
      };
      c.on('error', finish);
      c.on('close', finish);
      c.connect({
        host: '127.0.0.1', port, localAddress: source, username: i % 2 ? 'admin' : `guess${i}`, readyTimeout: 30_000,
        authHandler: (_left, _partial, next) => {
          if (tried) {
            answered.n++;
            return finish();
          }
          tried = true;
          next({ type: 'password', username: i % 2 ? 'admin' : `guess${i}`, password: `wrong ${round}` });
        },
      });
    });
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export default async function loginBench(): Promise<Figure[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-bench-logins-'));
  const seconds = Number(process.env.XWAY_BENCH_LOGIN_SECONDS ?? 20);
  const figures: Figure[] = [];
  const d = await startDaemon(path.join(root, 'data'));
  try {
    const admin = await client(d.port);
    const ch = await shell(admin);
    const quiet = performance.now() + 5000;
    const [idlePoll, idleLogin] = await Promise.all([poll(ch, quiet), logins(d.port, quiet)]);

    const until = performance.now() + seconds * 1000;
    const answered = { n: 0 };
    const t0 = performance.now();
    const [busyPoll, busyLogin] = await Promise.all([
      poll(ch, until),
      logins(d.port, until),
      ...Array.from({ length: GUESSERS }, (_, i) => guesser(d.port, i, until, answered)),
    ]);
    const took = (performance.now() - t0) / 1000;
    admin.end();

    const p99 = percentile(busyPoll, 99);
    const login = percentile(busyLogin, 50);
    figures.push({ name: `${GUESSERS} guessers (fresh sources): wrong passwords answered`, value: round1(answered.n / took), unit: '/s' });
    figures.push({ name: 'admin xStatus p50, guessing', value: round1(percentile(busyPoll, 50)), unit: 'ms', ratio: percentile(busyPoll, 50) / percentile(idlePoll, 50), peer: 'quiet' });
    figures.push({ name: 'admin xStatus p99, guessing', value: round1(p99), unit: 'ms', target: '< 100 ms', met: p99 < 100, ratio: p99 / percentile(idlePoll, 99), peer: 'quiet' });
    figures.push({ name: 'admin xStatus p99, quiet', value: round1(percentile(idlePoll, 99)), unit: 'ms' });
    figures.push({ name: 'admin password login p50, guessing', value: round1(login), unit: 'ms', target: '< 3000 ms', met: login < 3000, ratio: login / percentile(idleLogin, 50), peer: 'quiet' });
    figures.push({ name: 'admin password login p50, quiet', value: round1(percentile(idleLogin, 50)), unit: 'ms' });
  } finally {
    await d.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
  return figures;
}
