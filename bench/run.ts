// `npm run bench`: every benchmark in turn, each printing its figures and its ratios against the
// peers it measures in the same run. `npm run bench -- ssh acme` runs only those whose name matches.
import { line, type Bench } from './report.js';

type Entry = { name: string; load: () => Promise<{ default: Bench }> };

// Each benchmark module default-exports a Bench. Listed explicitly, as the commands are.
const BENCHES: Entry[] = [
  { name: 'shell', load: () => import('./shell.js') },
  { name: 'ssh', load: () => import('./ssh.js') },
  { name: 'logins', load: () => import('./logins.js') },
  { name: 'certs', load: () => import('./certs.js') },
  { name: 'acme', load: () => import('./acme.js') },
  { name: 'dns01', load: () => import('./dns01.js') },
  { name: 'cluster', load: () => import('./cluster.js') },
  { name: 'massrev', load: () => import('./massrev.js') },
  { name: 'cluster-acme', load: () => import('./cluster-acme.js') },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  let failed = 0;
  for (const b of BENCHES) {
    if (only.length && !only.some((o) => b.name.includes(o))) continue;
    process.stdout.write(`\n== ${b.name}\n`);
    try {
      const figures = await (await b.load()).default();
      for (const f of figures) {
        process.stdout.write(line(f) + '\n');
        if (f.met === false) failed++;
      }
    } catch (e) {
      failed++;
      process.stdout.write(`   failed: ${(e as Error).stack ?? e}\n`);
    }
  }
  process.stdout.write(`\n${failed ? `${failed} figure(s) missed their target or failed` : 'every figure met its target'}\n`);
}

void main();
