// Dependencies point one way: ssh → cli → bus → commands → services → interfaces ← stores,
// platform. schema/ is pure data. This scans every import and fails on a wrong-way edge.
// Services keep their state through src/stores (the Storage contract and the repositories on it);
// stores know services only by src/services/interfaces.ts. Only src/platform, src/stores and the
// SSH file transfer code touch the file system.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { findRoot } from '../../src/platform/version.js';

const root = findRoot();

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...files(rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s+'([^']+)'/g)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    out.push(spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : spec);
  }
  return out;
}

const layer = (p: string): string => {
  if (p.startsWith('schema/')) return 'schema';
  if (p.startsWith('commands/')) return 'commands';
  for (const l of ['ssh', 'cli', 'bus', 'services', 'stores', 'platform', 'tools', 'cluster']) if (p.startsWith(`src/${l}/`)) return l;
  if (p === 'src/errors.js') return 'errors';
  if (p === 'src/app.js' || p === 'src/main.js') return 'app';
  return 'external';
};

// What each layer may import (besides itself and external packages).
const ALLOWED: Record<string, string[]> = {
  schema: [],
  errors: [],
  platform: ['errors'],
  // etcd membership and client primitives: machinery beside the stores, knowing nothing of owners.
  cluster: ['errors', 'platform'],
  stores: ['schema', 'errors', 'platform', 'services-interfaces'],
  // The cluster service drives the etcd machinery.
  services: ['schema', 'errors', 'platform', 'stores', 'cluster', 'services-interfaces'],
  commands: ['schema', 'errors', 'services-interfaces'],
  bus: ['schema', 'errors', 'platform', 'commands', 'services-interfaces'],
  cli: ['schema', 'errors', 'platform', 'commands', 'bus', 'services-interfaces'],
  ssh: ['schema', 'errors', 'platform', 'cli', 'bus', 'services-interfaces'],
};

t.test('imports point one way', async (t) => {
  const all = [...files('schema'), ...files('commands'), ...files('src')];
  t.ok(all.length > 20, `${all.length} files scanned`);
  const wrong: string[] = [];
  for (const f of all) {
    const from = layer(f.replace(/\.ts$/, '.js'));
    const allowed = ALLOWED[from];
    if (!allowed) continue;
    for (const imp of imports(f)) {
      if (!imp.endsWith('.js')) {
        // Node I/O stays out of the pure layers.
        if ((from === 'schema' || from === 'commands') && /^(node:)?(fs|net|tls|http|https|child_process|dgram)$/.test(imp)) wrong.push(`${f} imports ${imp}`);
        continue;
      }
      let to = layer(imp);
      if (imp === 'src/services/interfaces.js') to = 'services-interfaces';
      if (to === from || to === 'external') continue;
      if (!allowed.includes(to)) wrong.push(`${f} (${from}) imports ${imp} (${to})`);
    }
  }
  t.same(wrong, [], 'no wrong-way imports');
});

// Everything else reaches the disk through the Storage interface (src/stores/storage.ts) or a
// platform helper.
// src/cluster/member.ts supervises the etcd process and owns its data directory and TLS files, as
// platform code owns processes.
const FS_ALLOWED = [/^src\/platform\//, /^src\/stores\//, /^src\/ssh\/(sftp|uploads|scp[^/]*)\.ts$/, /^src\/cluster\/member\.ts$/];

t.test('node:fs only in src/platform, src/stores and the SSH file transfer code', async (t) => {
  const wrong: string[] = [];
  for (const f of [...files('schema'), ...files('commands'), ...files('src')]) {
    if (FS_ALLOWED.some((re) => re.test(f))) continue;
    for (const imp of imports(f)) if (/^(node:)?fs(\/promises)?$/.test(imp)) wrong.push(`${f} imports ${imp}`);
  }
  t.same(wrong, [], 'no file system access outside the storage and platform layers');
});
