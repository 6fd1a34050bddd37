// In-process throughput of the shell pipeline (parser, bus, renderer) without SSH: the ceiling
// the SSH benchmark can reach.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import type { Figure } from './report.js';

export default async function shell(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-bench-'));
  const app = buildApp({ dataDir: dir, adminPassword: 'bench-password-1', logSink: { write: () => {} }, announce: () => {} });
  try {
    const N = 20_000;
    let replies = 0;
    const s = app.newSession({ user: 'admin', role: 'Admin', remote: 'bench', session: 'b' }, 'shell', {
      write: (d) => void (replies += d.endsWith('OK\n') ? 1 : 0),
    });
    const t0 = performance.now();
    s.feed('xStatus SystemUnit\n'.repeat(N));
    s.endInput();
    await s.closed;
    const secs = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const M = 2000;
    for (let i = 0; i < M; i++) app.services.config.set([{ key: 'SystemUnit Name', value: `n${i}` }], { user: 'b', role: 'Admin', remote: 'b', session: 'b' });
    const setSecs = (performance.now() - t1) / 1000;
    return [
      { name: 'in-process xStatus SystemUnit (parser+bus+render)', value: Math.round(replies / secs), unit: 'req/s', target: '>= 5000/s', met: replies === N && replies / secs >= 5000 },
      { name: 'durable configuration sets (WAL, synchronous FULL)', value: Math.round(M / setSecs), unit: 'sets/s' },
    ];
  } finally {
    app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
