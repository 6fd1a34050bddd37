// Helpers for the appliance image tests: read the systemd unit, build the package and the
// Debian root file system, install into it, and run the daemon inside it the way the unit
// would (same user, environment, command line, capabilities, umask, read-only system with a
// writable data directory, private /tmp), via unshare + chroot + setpriv, since systemd does
// not run inside a chroot. Everything runs as root; every process is owned and killed by pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIRMWARE = path.join(REPO, 'firmware');
export const UNIT_FILE = path.join(FIRMWARE, 'xway.service');
export const DEFAULTS_FILE = path.join(FIRMWARE, 'default');

// ---- systemd unit ------------------------------------------------------------------------

export type Unit = Map<string, [key: string, value: string][]>;

/** Parses a unit file: sections of key=value lines, comments and blank lines skipped. */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: [string, string][] | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[([A-Za-z]+)\]$/.exec(line);
    if (head) {
      section = [];
      unit.set(head[1]!, section);
      continue;
    }
    if (line.endsWith('\\')) throw new Error(`unit line ${i + 1}: continuation lines are not supported here`);
    const eq = line.indexOf('=');
    if (!section || eq < 1) throw new Error(`unit line ${i + 1}: expected [Section] or Key=value, got ${JSON.stringify(line)}`);
    section.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return unit;
}

/** Every value of `key` in `section`, in order. */
export function unitValues(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** The single value of `key`; throws when it is missing or repeated. */
export function unitValue(unit: Unit, section: string, key: string): string {
  const v = unitValues(unit, section, key);
  if (v.length !== 1) throw new Error(`unit: expected one ${section}.${key}, found ${v.length}`);
  return v[0]!;
}

/** Parses systemd EnvironmentFile syntax (VAR=value lines, # or ; comments, optional quotes). */
export function parseEnvFile(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`environment file: cannot read ${JSON.stringify(line)}`);
    let v = m[2]!;
    if (/^"[^"]*"$/.test(v) || /^'[^']*'$/.test(v)) v = v.slice(1, -1);
    out.push([m[1]!, v]);
  }
  return out;
}

export interface UnitCommand {
  user: string;
  group: string;
  umask: string;
  /** Capabilities named by AmbientCapabilities (lower case, without CAP_). */
  caps: string[];
  noNewPrivileges: boolean;
  env: Record<string, string>;
  argv: string[];
  readWritePaths: string[];
  privateTmp: boolean;
  protectSystem: string;
}

/**
 * What systemd would run for the unit's [Service], with EnvironmentFile= read from `root`.
 * Refuses the unit features this emulation does not reproduce (quoting, specifiers, $VARS in
 * ExecStart), so a change to the unit cannot silently make the test run something else.
 */
export function unitCommand(unit: Unit, root: string): UnitCommand {
  const S = 'Service';
  const user = unitValue(unit, S, 'User');
  const group = unitValue(unit, S, 'Group');
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin',
    USER: user,
    LOGNAME: user,
    HOME: '/var/lib/xway',
    SHELL: '/usr/sbin/nologin',
  };
  for (const e of unitValues(unit, S, 'Environment')) {
    if (/["'\s%]/.test(e)) throw new Error(`unit: Environment=${e}: quoting/specifiers are not emulated`);
    const eq = e.indexOf('=');
    env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  for (const f of unitValues(unit, S, 'EnvironmentFile')) {
    const optional = f.startsWith('-');
    const file = path.join(root, optional ? f.slice(1) : f);
    if (!fs.existsSync(file)) {
      if (optional) continue;
      throw new Error(`unit: EnvironmentFile ${f} is missing in the root`);
    }
    for (const [k, v] of parseEnvFile(fs.readFileSync(file, 'utf8'))) env[k] = v;
  }
  const exec = unitValue(unit, S, 'ExecStart');
  if (/["'$%\\;]/.test(exec) || /^[-@:+!]/.test(exec)) throw new Error(`unit: ExecStart=${exec}: prefixes, quoting and expansion are not emulated`);
  const caps = unitValues(unit, S, 'AmbientCapabilities').flatMap((v) => v.split(/\s+/)).filter((c) => c !== '')
    .map((c) => c.replace(/^CAP_/, '').toLowerCase());
  return {
    user,
    group,
    umask: unitValues(unit, S, 'UMask')[0] ?? '0022',
    caps,
    noNewPrivileges: unitValues(unit, S, 'NoNewPrivileges')[0] === 'yes',
    env,
    argv: exec.split(/\s+/),
    readWritePaths: unitValues(unit, S, 'ReadWritePaths').flatMap((v) => v.split(/\s+/)).filter((p) => p !== ''),
    privateTmp: unitValues(unit, S, 'PrivateTmp')[0] === 'yes',
    protectSystem: unitValues(unit, S, 'ProtectSystem')[0] ?? 'no',
  };
}

// ---- processes ---------------------------------------------------------------------------

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion (bounded by `timeoutMs`), capturing its output. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string; cwd?: string } = {}): Ran {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? REPO,
    env: opts.env ?? process.env,
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 300_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

export function commandExists(cmd: string): boolean {
  return run('sh', ['-c', `command -v ${cmd}`], { timeoutMs: 5000 }).code === 0;
}

export { freePort } from './pebble.js';

/** Free loopback ports below 1024 (only a process with CAP_NET_BIND_SERVICE can bind them). */
export async function freePrivilegedPorts(n: number, from = 600): Promise<number[]> {
  const out: number[] = [];
  for (let p = from; p < 1024 && out.length < n; p++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) out.push(p);
  }
  if (out.length < n) throw new Error(`fewer than ${n} free ports between ${from} and 1023`);
  return out;
}

/** Reads the SSH identification line of a server, or undefined if it does not answer yet. */
export function sshIdent(port: number, timeoutMs = 2000, host = '127.0.0.1'): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl !== -1) done(buf.slice(0, nl).replace(/\r$/, ''));
    });
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
  });
}

// ---- package and root file system --------------------------------------------------------

export interface BuildResult {
  version: string;
  debVersion: string;
  deb: string;
  bytes: number;
  installedKiB: number;
  buildMs: number;
  compress: string;
}

/** Runs firmware/build.sh into `out`; throws with its output on failure. */
export function buildPackage(out: string, revision: number, env: Record<string, string> = {}): BuildResult {
  const r = run('bash', [path.join(FIRMWARE, 'build.sh')], {
    env: { ...process.env, ...env, XWAY_FW_OUT: out, XWAY_DEB_REVISION: String(revision) },
    timeoutMs: 600_000,
  });
  if (r.code !== 0) throw new Error(`firmware/build.sh failed (${r.code}):\n${r.stderr}`);
  return JSON.parse(fs.readFileSync(path.join(out, 'build.json'), 'utf8')) as BuildResult;
}

/** The Debian mirror firmware/rootfs.sh would use. */
export function debianMirror(): string {
  const r = run('bash', [path.join(FIRMWARE, 'rootfs.sh'), '--mirror'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`firmware/rootfs.sh --mirror failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Whether the mirror answers for bookworm within 15 s. */
export async function mirrorReachable(mirror: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('dists/bookworm/InRelease', mirror.endsWith('/') ? mirror : mirror + '/'), {
      method: 'HEAD',
      signal: AbortSignal.timeout(15_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/** The cached root file system tarball, built by firmware/rootfs.sh if needed. */
export function rootfsTarball(): Ran & { tarball: string } {
  const r = run('bash', [path.join(FIRMWARE, 'rootfs.sh')], { timeoutMs: 900_000 });
  return { ...r, tarball: r.stdout.trim().split('\n').pop() ?? '' };
}

function mountsUnder(dir: string): string[] {
  const real = fs.realpathSync(dir);
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === real || m.startsWith(real + '/'));
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A Debian root file system extracted into a directory, used through private mount namespaces. */
export class RootFs {
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly dir: string) {}

  static extract(tarball: string, parent: string): RootFs & { extractMs: number } {
    fs.mkdirSync(parent, { recursive: true });
    const dir = fs.mkdtempSync(path.join(parent, 'root.'));
    fs.chmodSync(dir, 0o755);
    const r = run('tar', ['-C', dir, '--numeric-owner', '-xf', tarball], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`tar -xf ${tarball} failed: ${r.stderr}`);
    return Object.assign(new RootFs(dir), { extractMs: r.ms });
  }

  /** A path inside the root. */
  p(inner: string): string {
    if (!inner.startsWith('/') || inner.split('/').includes('..')) throw new Error(`not an absolute clean path: ${inner}`);
    return path.join(this.dir, inner);
  }

  /** Runs a command in the root as root, with /proc and /dev mounted in a private namespace. */
  exec(argv: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Ran {
    // A clean environment inside (the test runner injects NODE_OPTIONS into every child).
    const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive', ...opts.env };
    const script = `set -e; R=$1; shift; mount -t proc proc "$R/proc"; mount --rbind /dev "$R/dev"; exec chroot "$R" /usr/bin/env -i ${Object.entries(env).map(([k, v]) => sh(`${k}=${v}`)).join(' ')} "$@"`;
    return run('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'sh', this.dir, ...argv], { env, timeoutMs: opts.timeoutMs ?? 300_000 });
  }

  /** Installs (or upgrades to) a package with dpkg -i inside the root. */
  install(deb: string): Ran {
    const inner = `/tmp/${path.basename(deb)}`;
    fs.copyFileSync(deb, this.p(inner));
    try {
      return this.exec(['dpkg', '-i', inner]);
    } finally {
      fs.rmSync(this.p(inner), { force: true });
    }
  }

  /**
   * Starts the unit's command inside the root as the unit would: private mount namespace with
   * the system read-only (ProtectSystem=strict) except ReadWritePaths, a fresh /tmp
   * (PrivateTmp), then chroot, umask, setpriv to the unit's user with only its ambient
   * capabilities and no-new-privs, and a clean environment. The returned process is the
   * daemon itself (each step execs the next), so its pid is the daemon's.
   */
  start(cmd: UnitCommand): Daemon {
    const R = sh(this.dir);
    const steps = [
      'set -e',
      `mount --bind ${R} ${R}`,
      ...cmd.readWritePaths.map((p) => `mount --bind ${sh(this.p(p))} ${sh(this.p(p))}`),
      `mount -t proc proc ${R}/proc`,
      `mount --rbind /dev ${R}/dev`,
      ...(cmd.privateTmp ? [`mount -t tmpfs -o mode=1777 tmpfs ${R}/tmp`, `mount -t tmpfs -o mode=1777 tmpfs ${R}/var/tmp`] : []),
      ...(cmd.protectSystem === 'strict' ? [`mount -o remount,bind,ro ${R}`] : []),
    ];
    const caps = cmd.caps.map((c) => `+${c}`).join(',');
    const capsArg = caps === '' ? '-all' : `-all,${caps}`;
    const inner = [
      // --pdeathsig: if the test process dies (killed on a timeout), the daemon goes too.
      '/usr/bin/setpriv', '--pdeathsig=TERM', `--reuid=${cmd.user}`, `--regid=${cmd.group}`, '--init-groups',
      ...(cmd.noNewPrivileges ? ['--no-new-privs'] : []),
      `--bounding-set=${capsArg}`, `--inh-caps=${capsArg}`, `--ambient-caps=${capsArg}`,
      '--', '/usr/bin/env', '-i', ...Object.entries(cmd.env).map(([k, v]) => `${k}=${v}`), ...cmd.argv,
    ];
    steps.push(`exec chroot ${R} /bin/sh -c ${sh(`umask ${cmd.umask} && exec "$@"`)} sh ${inner.map(sh).join(' ')}`);
    const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', steps.join('\n')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return new Daemon(child);
  }

  /**
   * Boots the root as a container with systemd as its init (systemd-nspawn, host network), so
   * xway.service runs under the real systemd with all its sandboxing. The returned process is
   * systemd-nspawn; SIGTERM makes it power the container off. It dies with the test process.
   */
  boot(): Daemon {
    const child = spawn('setpriv', ['--pdeathsig=TERM', '--', 'systemd-nspawn', '--quiet', `--directory=${this.dir}`, '--boot',
      '--register=no', '--keep-unit', '--link-journal=no', '--resolv-conf=off', '--timezone=off', '--console=read-only'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return new Daemon(child);
  }

  /** Runs a command inside a booted container (all namespaces of its init, `initPid`), as root. */
  static inContainer(initPid: number, argv: string[], timeoutMs = 120_000): Ran {
    return run('nsenter', ['--target', String(initPid), '--mount', '--uts', '--ipc', '--net', '--pid', '--',
      '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', 'DEBIAN_FRONTEND=noninteractive', ...argv], { timeoutMs });
  }

  /** Host pids of the direct children of `pid` (read from /proc). */
  static childrenOf(pid: number): number[] {
    const out: number[] = [];
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }

  /** Host pids of the descendants of `ancestor` whose command line is `argv` (read from /proc). */
  static pidsUnder(ancestor: number, argv: string[]): number[] {
    const want = argv.join('\0');
    const parent = new Map<number, number>();
    const cmdline = new Map<number, string>();
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
        cmdline.set(Number(name), fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0$/, ''));
      } catch {
        // gone meanwhile
      }
    }
    const under = (pid: number): boolean => {
      for (let p = parent.get(pid), i = 0; p !== undefined && p > 1 && i < 64; p = parent.get(p), i++) if (p === ancestor) return true;
      return false;
    };
    return [...cmdline].filter(([pid, c]) => c === want && under(pid)).map(([pid]) => pid);
  }

  /** The journal written inside the root, for one unit (journalctl -D, message text only). */
  journal(unit: string): string {
    const dir = this.p('/var/log/journal');
    if (!fs.existsSync(dir)) return '';
    return run('journalctl', ['-D', dir, '-u', unit, '-o', 'cat', '--no-pager'], { timeoutMs: 60_000 }).stdout;
  }

  /** Stops what it started (by pid), then deletes the root; refuses if anything is mounted in it. */
  async destroy(): Promise<void> {
    await Promise.all([...this.children].map((c) => new Daemon(c).stop(60_000)));
    if (!fs.existsSync(this.dir)) return;
    const mounts = mountsUnder(this.dir);
    if (mounts.length > 0) throw new Error(`not deleting ${this.dir}: still mounted: ${mounts.join(', ')}`);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Deletes the work directories of earlier runs whose process is gone (a run killed on a
 * timeout cannot clean up after itself). Directories are named run.<pid>.<random>.
 */
export function removeStaleRuns(parent: string): string[] {
  if (!fs.existsSync(parent)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(parent)) {
    const m = /^run\.(\d+)\./.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    const dir = path.join(parent, name);
    if (alive || mountsUnder(dir).length > 0) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

export class Daemon {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly startedAt = Date.now();
  private exitCode: number | null | undefined;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => void (this.stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => void (this.stderr += d));
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else child.on('close', (code) => { this.exitCode = code; resolve(code); });
    });
  }

  get running(): boolean {
    return this.exitCode === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the SSH port answers with an identification line; returns it and the delay. */
  async waitForSsh(port: number, timeoutMs = 60_000, host = '127.0.0.1'): Promise<{ ident: string; ms: number }> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 2000 && Date.now() < deadline; i++) {
      if (!this.running) throw new Error(`the daemon exited (${this.child.exitCode}) before SSH answered:\n${this.stderr}`);
      const ident = await sshIdent(port, 1000, host);
      if (ident?.startsWith('SSH-')) return { ident, ms: Date.now() - this.startedAt };
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`SSH on ${host}:${port} did not answer within ${timeoutMs} ms:\n${this.stderr}`);
  }

  /** Waits for the process to end by itself, up to `timeoutMs`; undefined if it did not. */
  async waitExit(timeoutMs: number): Promise<number | null | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)));
    const code = await Promise.race([this.exited, t]);
    clearTimeout(timer);
    return code;
  }

  /** SIGTERM by pid, SIGKILL after `graceMs`; resolves with the exit code (null if killed by signal). */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (this.running && this.child.pid) process.kill(this.child.pid, 'SIGTERM');
    const code = await this.waitExit(graceMs);
    if (code !== undefined) return code;
    if (this.running && this.child.pid) process.kill(this.child.pid, 'SIGKILL');
    return (await this.exited) ?? null;
  }
}

// ---- SSH client (OpenSSH, from outside the root) -----------------------------------------

/** Runs one command over SSH with OpenSSH + sshpass (password from the environment). */
export function sshRun(port: number, password: string, command: string, opts: { verbose?: boolean; input?: string; host?: string } = {}): Ran {
  return run('sshpass', ['-e', 'ssh',
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no',
    '-o', 'ConnectTimeout=10', '-o', `LogLevel=${opts.verbose ? 'VERBOSE' : 'ERROR'}`,
    '-p', String(port), `admin@${opts.host ?? '127.0.0.1'}`, command,
  ], { env: { ...process.env, SSHPASS: password }, timeoutMs: 120_000, input: opts.input });
}

/** The certificate a TLS listener presents for `servername` (undefined if it does not answer). */
export function servedCertificate(port: number, servername: string): Promise<tls.PeerCertificate | undefined> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate());
      s.destroy();
    });
    s.setTimeout(10_000, () => {
      s.destroy();
      resolve(undefined);
    });
    s.on('error', () => resolve(undefined));
  });
}

/** The SHA-256 fingerprints of the host keys a server offers (ssh-keyscan). */
export function hostKeyFingerprints(port: number): string[] {
  const r = run('sh', ['-c', `ssh-keyscan -T 10 -p ${port} 127.0.0.1 2>/dev/null | ssh-keygen -lf - -E sha256`], { timeoutMs: 60_000 });
  return r.stdout.split('\n').filter((l) => l.includes('SHA256:')).map((l) => l.split(' ')[1]!).sort();
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
