// Debian's BIND (named) as a child process, the one starter for tests and benchmarks (tests import
// it through test/helpers/bind.ts): one primary zone open to dynamic update signed with TSIG keys
// made by tsig-keygen, on 127.0.0.1 at a free port, in a fresh directory (so no journal from an
// earlier run), stopped by pid. Recipe and traps: shared/docs/dns01.md.
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './acme-pebble.js';

// named and tsig-keygen live in /usr/sbin, which a non-root PATH may lack.
const NAMED = '/usr/sbin/named';
const TSIG_KEYGEN = '/usr/sbin/tsig-keygen';
const run = promisify(execFile);

export interface BindKeySpec {
  readonly name: string;
  readonly algorithm?: 'hmac-sha256' | 'hmac-sha512';
  /** The update-policy grant after the key name: `zonesub TXT` (any TXT in the zone) by default. */
  readonly grant?: string;
}

export interface BindKey {
  readonly name: string;
  readonly algorithm: 'hmac-sha256' | 'hmac-sha512';
  readonly secret: string;
  /** The tsig-keygen file, for `nsupdate -k`. */
  readonly file: string;
}

export interface BindOptions {
  readonly zone?: string;
  readonly keys?: readonly BindKeySpec[];
  /** More zone-file lines (relative names are in the zone). */
  readonly records?: readonly string[];
}

export interface Bind {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly zone: string;
  readonly keys: readonly BindKey[];
  readonly dir: string;
  readonly pid: number;
  /** TXT values of `name` as the server answers them (`dig +short` at the server, quotes removed). */
  txt(name: string): Promise<string[]>;
  /** Runs nsupdate against this server and zone with `key` (the first key by default). */
  nsupdate(lines: readonly string[], key?: BindKey): Promise<void>;
  /** What named has logged so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

function stopPid(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => { try { process.kill(child.pid!, 'SIGKILL'); } catch { resolve(); } }, 3000);
    child.once('exit', () => { clearTimeout(hard); resolve(); });
    try { process.kill(child.pid!, 'SIGTERM'); } catch { clearTimeout(hard); resolve(); }
  });
}

/** `"abc" "def"` (one record's strings) -> `abcdef`; dig escapes `"` and `\` inside them. */
function unquote(line: string): string {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1')).join('');
}

/** Starts named; registers `teardown` to stop it when given. Resolves once it reports "running". */
export async function startBind(opts: BindOptions = {}, teardown?: (fn: () => Promise<void>) => void): Promise<Bind> {
  const zone = opts.zone ?? 'example.test';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-bind-'));
  const port = await freePort(true);
  const keys: BindKey[] = (opts.keys ?? [{ name: 'acme-key' }]).map((k) => {
    const algorithm = k.algorithm ?? 'hmac-sha256';
    const text = execFileSync(TSIG_KEYGEN, ['-a', algorithm, k.name], { encoding: 'utf8' });
    const file = path.join(dir, `${k.name}.key`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    const secret = /secret "([^"]+)"/.exec(text)![1]!;
    return { name: k.name, algorithm, secret, file };
  });
  const grants = (opts.keys ?? [{ name: 'acme-key' }]).map((k) => `grant ${k.name} ${k.grant ?? 'zonesub TXT'};`).join(' ');
  fs.writeFileSync(path.join(dir, 'named.conf'), `options {
  directory "${dir}"; pid-file "${dir}/named.pid"; session-keyfile "${dir}/session.key";
  listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; allow-query { 127.0.0.1; };
  allow-transfer { none; }; dnssec-validation no; notify no;
};
controls { };
${keys.map((k) => `include "${k.file}";`).join('\n')}
zone "${zone}" { type primary; file "zone.db"; update-policy { ${grants} }; };
`);
  // A negative TTL of 1 s: a name asked for before its record exists must not stay "absent".
  fs.writeFileSync(path.join(dir, 'zone.db'), [
    '$TTL 60',
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 60 60 600 1`,
    `@ IN NS ns1.${zone}.`,
    'ns1 IN A 127.0.0.1',
    ...(opts.records ?? []),
    '',
  ].join('\n'));
  execFileSync('named-checkconf', [path.join(dir, 'named.conf')]);
  execFileSync('named-checkzone', ['-q', zone, path.join(dir, 'zone.db')]);

  const child = spawn(NAMED, ['-g', '-4', '-c', path.join(dir, 'named.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const stop = async () => {
    await stopPid(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  teardown?.(stop);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`named did not start within 20 s:\n${log}`)), 20_000);
      const seen = (d: Buffer) => {
        log += d.toString();
        // Its first lines say "running on Linux"; ready is a line that is just "<time> running".
        if (/ running\n/.test(log)) { clearTimeout(timer); resolve(); }
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', seen);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`named exited with ${code}:\n${log}`)); });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    host: '127.0.0.1', port, zone, keys, dir, pid: child.pid!,
    async txt(name) {
      const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+short', '+norecurse', '+tcp', name, 'TXT']);
      return stdout.split('\n').filter((l) => l.trim()).map(unquote).sort();
    },
    async nsupdate(lines, key = keys[0]!) {
      const script = [`server 127.0.0.1 ${port}`, `zone ${zone}`, ...lines, 'send', ''].join('\n');
      await new Promise<void>((resolve, reject) => {
        const p = spawn('nsupdate', ['-k', key.file, '-t', '10'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d) => { out += d; });
        p.stderr.on('data', (d) => { out += d; });
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nsupdate exited with ${code}: ${out}`))));
        p.stdin.end(script);
      });
    },
    log: () => log,
    stop,
  };
}
