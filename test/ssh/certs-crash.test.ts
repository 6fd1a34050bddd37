import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GenerationStore } from '../../src/stores/generations.js';
import { FileStorage } from '../../src/stores/filestorage.js';
import { keyOf } from '../../src/stores/keys.js';
import { parsePem } from '../../src/services/certs/pem.js';
import { FileTrustStore, BUNDLE_FILE } from '../../src/services/trust/store.js';
import { FileCertificateService } from '../../src/services/certs/service.js';
import { makeCa, makeLeaf, tmpDir, manualClock, testLogger, MemoryAlarms } from '../helpers/pki.js';

const ROUNDS = 30;
// 30 kill -9 rounds take about two minutes here, over ten beside stress-ng and parallel builds.
t.setTimeout(1_800_000);
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'certs-crash-child.ts');

function matches(certPem: string, keyPem: string): boolean {
  return new crypto.X509Certificate(certPem).checkPrivateKey(crypto.createPrivateKey(keyPem));
}

/** Temp files and trash anywhere under the data directory. */
function leftovers(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => /(^|\/)\.(.+\.tmp|trash-[0-9a-f]+)$/.test(f));
}

/** Runs the child until it is ready, lets it work for `ms`, then SIGKILLs it (by its pid). */
function runAndKill(dir: string, fixtures: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, child, dir, fixtures], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    const guard = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.stdout.once('data', () => setTimeout(() => p.kill('SIGKILL'), ms));
    p.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal === 'SIGKILL') resolve(err);
      else reject(new Error(`child exited by itself (${code}): ${err}`));
    });
  });
}

t.test(`kill -9 during CA appends and certificate writes, ${ROUNDS} rounds: never a certificate without its key`, async (t) => {
  const dir = tmpDir(t);
  const cas = await Promise.all(Array.from({ length: 100 }, (_, i) => makeCa({ cn: `Crash Root ${i}` })));
  const batches = Array.from({ length: 10 }, (_, b) => cas.slice(b * 10, b * 10 + 10).map((c) => c.pem).join(''));
  const root = await makeCa();
  const pairs = await Promise.all([0, 1, 2].map(() => makeLeaf(root, { cn: 'shop.example.com', sans: ['shop.example.com', 'edge.example.com'] })));
  const fixtures = path.join(dir, 'fixtures.json');
  fs.writeFileSync(fixtures, JSON.stringify({ batches, pairs: pairs.map((p) => ({ cert: p.pem, key: p.keyPem })) }));
  const data = path.join(dir, 'data');
  const known = new Set(pairs.map((p) => p.x509.fingerprint256));
  const seen = new Set<string>();
  for (let round = 1; round <= ROUNDS; round++) {
    const ms = 5 + ((round * 37) % 120);
    const err = await runAndKill(data, fixtures, ms);
    t.equal(err.replace(/^.*ExperimentalWarning.*$/gm, '').trim(), '', `round ${round}: the child failed on nothing`);
    // The server pointer names complete generations whose certificate matches its key.
    // Opening the storage sweeps what the kill left half-written (issue 13.10).
    const storage = new FileStorage(data);
    t.same(leftovers(data), [], `round ${round}: no temp file or trash survives the next start`);
    const store = new GenerationStore(storage, keyOf('certs', 'server'));
    const p = store.pointer();
    t.ok(p.current, `round ${round}: a current certificate`);
    for (const ref of [p.current, p.previous]) {
      if (!ref) continue;
      const pair = store.read(ref.id);
      t.ok(pair && matches(pair.certPem, pair.keyPem), `round ${round}: ${ref.id} is a matching pair`);
      if (pair) seen.add(new crypto.X509Certificate(pair.certPem).fingerprint256);
    }
    // The trust bundle parses whole, and holds whole batches only (each append of 10 is one change).
    const bundle = fs.readFileSync(path.join(data, 'trust', BUNDLE_FILE), 'utf8');
    const n = bundle.trim() === '' ? 0 : parsePem(bundle).length;
    t.ok(n % 10 === 0 && n <= 100, `round ${round}: trust store holds ${n} entries`);
    // A domain directory, if left, is complete or certificate-less.
    const dstore = path.join(data, 'certs', 'domains', 'shop.example.com');
    if (fs.existsSync(dstore)) {
      const ds = new GenerationStore(storage, keyOf('certs', 'domains', 'shop.example.com'));
      const cur = ds.pointer().current;
      if (cur) {
        const pair = ds.read(cur.id);
        t.ok(pair && matches(pair.certPem, pair.keyPem), `round ${round}: the domain pair matches`);
      }
    }
    // And the services open cleanly on what was left.
    const clock = manualClock();
    const { logger, lines } = testLogger();
    const trust = new FileTrustStore({ storage, clock, logger, defaults: () => [] });
    const certs = await FileCertificateService.open({ storage, clock, logger, alarms: new MemoryAlarms(), trust, systemName: () => 'x.example.com' });
    t.ok(matches(certs.listenerMaterial().server.certPem, certs.listenerMaterial().server.keyPem));
    t.notOk(lines.some((l) => /unusable|skipped/.test(l)), `round ${round}: nothing had to be skipped`);
  }
  t.ok([...seen].some((f) => known.has(f)), 'the child got as far as installing certificates');
});
