// The mass-revocation case (issue 10): a CA moves the ARI window of every certificate into the
// past, and the appliance must renew them all at once. Against one real Pebble behind the ARI
// front, in one run:
// - a built appliance (in process, real listeners, files on disk) with the server certificate and
//   the most SNI domains it hosts (100), each holding a certificate Pebble issued through the
//   command path; `Scheduler Mode: On`, the only deploy day tomorrow, the CA's windows in the
//   future with a Retry-After of one hour, and every certificate polled once;
// - then the front moves every window into the past and an hour passes (the clock steps by the
//   Retry-After, as when the next poll comes due; nothing else is touched): the appliance's own
//   renewal job polls, signs with `replaces` and deploys outside the deploy days.
// Figures and targets:
// - all 101 renewed and in service within 120 s. The CA gives days (the Baseline Requirements
//   allow it 1 to 5 days to revoke; noticing takes up to one Retry-After, 6 h at Let's Encrypt),
//   so the renewal itself must take minutes: at 4 orders at once (limits.maxOrders, kept low for the CA's
//   per-client request rates) and Let's Encrypt's ~5-10 s an order, 101 take 2-4 minutes; against
//   a local Pebble (~0.2 s an order alone) 120 s leaves room for a busy 2-core machine.
// - orders at once: at most maxOrders; each sent with `replaces`; none failed, no deploy failed;
//   renewal information asked once per certificate (old and renewed), never twice.
// - no failed TLS handshake: SNI to random hosted names, chain and name verified, from a child
//   process at a fixed rate, the whole time.
// - memory of this process (the appliance, plus the small in-process ARI front and bench driver):
//   peak RSS at most twice the RSS before (V8 collects lazily, so the peak is noisy; at most 4
//   orders hold memory at once), and the heap kept after a full collection grows by at most 16 MB
//   (101 new certificates and records are far less: more would be a leak).
// - event-loop delay (what a handshake or a challenge request may wait), reported.
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../src/app.js';
import type { Clock } from '../src/platform/clock.js';
import { ariCertId } from '../src/services/acme/ari.js';
import { DEFAULT_LIMITS } from '../src/services/acme/settings.js';
import { MAX_DOMAINS } from '../src/services/certs/service.js';
import { DAYS } from '../schema/types.js';
import { startPebble, freePort } from './acme-pebble.js';
import { startAriFront, windowAt } from './acme-ari-front.js';
import type { LoadJob, LoadResult } from './massrev-load.js';
import type { Figure } from './report.js';
import { acmeAccount, xapi } from './exec.js';

const DOMAINS = MAX_DOMAINS;
/** Sessions issuing the first certificates at once (setup only). */
const SETUP_PARALLEL = 6;
/** The CA's Retry-After: the service polls at most hourly, so the shortest one it honours. */
const RETRY_AFTER_S = 3600;
const HANDSHAKES_PER_S = 40;
/** The renewal must end within this (the bench gives up then); the target is tighter. */
const RENEWAL_MAX_MS = 240_000;
const TARGET_MS = 120_000;
const TARGET_RETAINED_MB = 16;

/** A full garbage collection (the bench runs without --expose-gc). */
function collect(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** The system clock, which the bench can step forward (timers due by then fire at once). */
function steppedClock(): { clock: Clock; step(ms: number): void } {
  let offset = 0;
  const timers = new Set<{ at: number; fn: () => void; handle?: NodeJS.Timeout }>();
  const arm = (t: { at: number; fn: () => void; handle?: NodeJS.Timeout }) => {
    clearTimeout(t.handle);
    t.handle = setTimeout(() => { timers.delete(t); t.fn(); }, Math.max(0, t.at - (Date.now() + offset)));
    t.handle.unref();
  };
  return {
    clock: {
      now: () => new Date(Date.now() + offset),
      monotonic: () => performance.now() + offset,
      setTimeout(fn, ms) {
        const t = { at: Date.now() + offset + ms, fn };
        timers.add(t);
        arm(t);
        return { cancel: () => { clearTimeout((t as { handle?: NodeJS.Timeout }).handle); timers.delete(t); } };
      },
    },
    step(ms) {
      offset += ms;
      for (const t of timers) arm(t);
    },
  };
}

/** Resolves when `ok()` holds, checking every 100 ms; rejects after `ms` with `what`. */
async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`${what} not reached within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Serial in service per target ('' = the server certificate), and their PEMs. */
function inService(app: App): Map<string, { serial: string; pem: string; acme: boolean }> {
  const certs = app.web.certificates;
  const a = certs.active();
  const m = new Map([['', { serial: a.info.serial, pem: a.certPem, acme: a.source === 'Acme' }]]);
  for (const d of certs.domains()) {
    if (d.certificate) m.set(d.name, { serial: d.certificate.info.serial, pem: d.certificate.certPem, acme: d.certificate.source === 'Acme' });
  }
  return m;
}

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

function startLoad(job: LoadJob): { running: Promise<void>; stop(): Promise<LoadResult>; kill(): void } {
  const child = fork(new URL('./massrev-load.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let result: (r: LoadResult) => void;
  let fail: (e: Error) => void;
  const ended = new Promise<LoadResult>((resolve, reject) => { result = resolve; fail = reject; });
  // Read only after stop(); a client that dies earlier must not fail the process meanwhile.
  ended.catch(() => undefined);
  const running = new Promise<void>((resolve) => {
    child.on('message', (m: { running?: true; result?: LoadResult }) => {
      if (m.running) resolve();
      if (m.result) result(m.result);
    });
  });
  child.once('exit', (code) => fail(new Error(`the handshake client exited (${code}) without a result`)));
  child.send({ job });
  return {
    running,
    stop: () => {
      if (child.connected) child.send({ stop: true });
      return ended;
    },
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); },
  };
}

export default async function massRevocationBench(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-bench-massrev-'));
  const stops: (() => Promise<void>)[] = [];
  const httpPort = await freePort();
  const pebble = await startPebble({ httpPort }, (fn) => void stops.push(fn));
  const front = await startAriFront(pebble, {}, (fn) => void stops.push(fn));
  const time = steppedClock();
  let httpsPort = 0;
  const app = buildApp({
    dataDir: path.join(dir, 'data'), adminPassword: 'bench password', logSink: { write: () => {} }, announce: () => {},
    httpsAddress: () => ({ host: '127.0.0.1', port: httpsPort }), clock: time.clock,
  });
  // AcmeProgress events, as an admin registered to /Event sees them: the orders running at once,
  // failures, and each target's deploys. (Asking the service instead, 101 targets every 100 ms,
  // took a third of the process's CPU and starved the appliance it measures.)
  const inflight = new Set<string>();
  const deployed = new Set<string>();
  let peakOrders = 0;
  let failedOrders = 0;
  let failedDeploys = 0;
  let firstDeployAt = 0;
  app.bus.feedback.add({
    registrations: [{ root: 'Event', path: ['AcmeProgress'], expr: '/Event/AcmeProgress' }],
    deliver(f) {
      if (f.kind !== 'event') return;
      const { Target: target, Status: status, Detail: detail } = f.fields as Record<string, string>;
      if (status === 'InProgress' && detail === 'Starting') inflight.add(target!);
      if (status === 'Succeeded' || status === 'Failed') inflight.delete(target!);
      if (status === 'Failed') failedOrders++;
      if (status === 'DeployFailed') failedDeploys++;
      if (status === 'Deployed') {
        deployed.add(target!);
        firstDeployAt ||= performance.now();
      }
      peakOrders = Math.max(peakOrders, inflight.size);
    },
  });
  const figures: Figure[] = [];
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    httpsPort = await app.web.web.listenHttps(0, '127.0.0.1');
    await app.web.web.listenHttp(httpPort, '127.0.0.1');
    front.setWindow('*', { ...windowAt('future', time.clock.now().getTime()), retryAfter: String(RETRY_AFTER_S) });
    await acmeAccount(app, pebble.httpsCaPem, front.directoryUrl);
    await xapi(app, [
      'xCommand Security Certificates CSR Create CommonName: massrev.example.com KeyType: ECDSA-P256',
      'xCommand Security Acme Sign Wait: True',
      'xCommand Security Acme Deploy',
    ].join('\n'));
    const names = Array.from({ length: DOMAINS }, (_, i) => `d${String(i + 1).padStart(3, '0')}.massrev.example.com`);
    const setupStart = performance.now();
    await pool(names, SETUP_PARALLEL, async (n) => {
      await xapi(app, [
        `xCommand Security Certificates Domain Add Name: ${n}`,
        `xCommand Security Acme Sign Domain: ${n} Wait: True`,
        `xCommand Security Acme Deploy Domain: ${n}`,
      ].join('\n'));
    });
    const setupMs = performance.now() - setupStart;
    const before = inService(app);
    if (before.size !== DOMAINS + 1 || [...before.values()].some((c) => !c.acme)) throw new Error('setup: not every target holds an ACME certificate');
    const ids = new Set([...before.values()].map((c) => ariCertId(c.pem)));

    // Automated renewal on, deploys only tomorrow: the appliance polls every certificate once.
    const tomorrow = DAYS[time.clock.now().getUTCDay()]!;
    await xapi(app, `xConfiguration Security Acme Scheduler Days: "${tomorrow}"\nxConfiguration Security Acme Scheduler Mode: On`);
    await until('the first ARI poll of every certificate', () => [...ids].every((id) => front.renewalInfoAsked.includes(id)), 60_000);
    const ordersBefore = front.orders.length;
    const polledBefore = front.renewalInfoAsked.length;

    load = startLoad({
      port: httpsPort, names: ['massrev.example.com', ...names], rootPem: await pebble.rootPem(), rate: HANDSHAKES_PER_S,
      maxMs: RENEWAL_MAX_MS + 30_000, maxCount: HANDSHAKES_PER_S * (RENEWAL_MAX_MS + 30_000) / 1000,
      before: [...before.values()].map((c) => c.serial),
    });
    await load.running;
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage.rss()); }, 50);
    // How long the appliance's event loop was held (handshakes, challenge answers and probes wait that long).
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();

    // The mass revocation: the window of every certificate in use ends in the past (renewed ones
    // get future windows); the next poll, an hour on, finds it. The job's timer was armed for
    // that poll: the step makes it due (no call into the service).
    const stepMs = RETRY_AFTER_S * 1000 + 1000;
    const past = { ...windowAt('past', time.clock.now().getTime() + stepMs), retryAfter: String(RETRY_AFTER_S), explanationURL: 'https://ca.example/incident' };
    for (const id of ids) front.setWindow(id, past);
    time.step(stepMs);
    peakOrders = 0;
    failedOrders = 0;
    failedDeploys = 0;
    deployed.clear();
    firstDeployAt = 0;
    const start = performance.now();
    try {
      await until('every certificate renewed and deployed', () => deployed.size === DOMAINS + 1, RENEWAL_MAX_MS);
    } finally {
      clearInterval(sampler);
      lag.disable();
    }
    const allMs = performance.now() - start;
    // A last second of handshakes against the renewed certificates.
    await new Promise((r) => setTimeout(r, 1000));
    const l = await load.stop();
    // What the events said, checked once against the certificates in use and the staged ones.
    const after = inService(app);
    const renewed = [...after].filter(([k, c]) => c.acme && c.serial !== before.get(k)?.serial && !app.acme.pending(k || undefined)).length;
    const renewals = front.orders.slice(ordersBefore);
    const withReplaces = renewals.filter((o) => o.replaces !== undefined && ids.has(o.replaces)).length;
    collect();
    const retainedMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    const asked = front.renewalInfoAsked.slice(polledBefore);

    figures.push(
      { name: `Setup: ${DOMAINS} domains issued + deployed (${SETUP_PARALLEL} sessions)`, value: setupMs / 1000, unit: 's' },
      { name: `Mass revocation: all ${DOMAINS + 1} renewed and in service`, value: allMs / 1000, unit: 's', target: `<= ${TARGET_MS / 1000} s`, met: allMs <= TARGET_MS },
      { name: 'Mass revocation: certificates renewed and in service', value: renewed, unit: `of ${DOMAINS + 1}`, target: `${DOMAINS + 1}`, met: renewed === DOMAINS + 1 },
      { name: 'Mass revocation: first renewed certificate in service', value: (firstDeployAt - start) / 1000, unit: 's' },
      { name: 'Mass revocation: orders running at once (peak)', value: peakOrders, unit: 'orders', target: `<= ${DEFAULT_LIMITS.maxOrders}`, met: peakOrders <= DEFAULT_LIMITS.maxOrders },
      { name: 'Mass revocation: orders sent with replaces (ARI)', value: withReplaces, unit: `of ${renewals.length} orders`, target: `${DOMAINS + 1}`, met: withReplaces === DOMAINS + 1 && renewals.length === DOMAINS + 1 },
      { name: 'Mass revocation: failed orders', value: failedOrders, unit: 'orders', target: '0', met: failedOrders === 0 },
      { name: 'Mass revocation: failed deploys', value: failedDeploys, unit: 'deploys', target: '0', met: failedDeploys === 0 },
      { name: 'Mass revocation: renewal-info requests', value: asked.length, unit: 'requests', target: 'none twice', met: new Set(asked).size === asked.length },
      { name: 'Mass revocation: event loop delay, p99 / max', value: lag.percentile(99) / 1e6, unit: `ms / ${(lag.max / 1e6).toFixed(0)} ms` },
      { name: 'Mass revocation: process RSS before', value: rssBefore / 2 ** 20, unit: 'MB' },
      { name: 'Mass revocation: process RSS peak', value: rssPeak / 2 ** 20, unit: 'MB', target: '<= 2x before', met: rssPeak <= 2 * rssBefore },
      { name: 'Mass revocation: heap kept after the renewal (after GC)', value: retainedMb, unit: 'MB', target: `<= ${TARGET_RETAINED_MB} MB`, met: retainedMb <= TARGET_RETAINED_MB },
      { name: 'Mass revocation: failed TLS handshakes', value: l.failed, unit: `of ${l.started} (${(l.done / l.secs).toFixed(0)}/s)`, target: '0', met: l.failed === 0 && l.renewed > 0 },
      { name: 'Mass revocation: handshakes that saw a renewed certificate', value: l.renewed, unit: 'handshakes' },
    );
    if (l.failed) figures.push({ name: `  failures: ${JSON.stringify(l.errors)}`, value: l.failed, unit: '' });
  } finally {
    load?.kill();
    await app.close();
    for (const s of stops) await s();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
