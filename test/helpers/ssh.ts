// An appliance with its SSH server on a free loopback port, plus clients to drive it: OpenSSH
// (through sshpass), the ssh2 client, raw TCP. Everything is torn down by the test that made it.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { testApp, tmpDir, type TestApp } from './app.js';
import { startSshServer, type SshServer, type SshServerOptions } from '../../src/ssh/server.js';
import { ensureHostKeys } from '../../src/ssh/hostkeys.js';

export const PASSWORD = 'correct horse battery';

/** Host keys are made once per test process (RSA-3072 takes a while) and copied per appliance. */
let keyCache: string | undefined;
export function hostKeysFor(dir: string): Buffer[] {
  if (!keyCache) {
    keyCache = tmpDir('xway-hostkeys-');
    ensureHostKeys(keyCache);
    process.on('exit', () => fs.rmSync(keyCache!, { recursive: true, force: true }));
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of fs.readdirSync(keyCache)) fs.copyFileSync(path.join(keyCache, f), path.join(dir, f));
  return ensureHostKeys(dir);
}

export interface SshFixture {
  app: TestApp;
  server: SshServer;
  port: number;
}

type Teardown = { teardown(fn: () => void | Promise<void>): void };

export async function startSsh(t: Teardown, opts: Partial<Omit<SshServerOptions, 'app'>> = {}): Promise<SshFixture> {
  const app = testApp(t);
  const server = await startSshServer({ app, host: '127.0.0.1', port: 0, hostKeys: hostKeysFor(app.paths.hostKeys), ...opts });
  t.teardown(() => server.close());
  return { app, server, port: server.port };
}

export const OPENSSH_OPTS = [
  '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
  '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive',
  '-o', 'BatchMode=no', '-o', 'ConnectTimeout=10',
];

export interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs a child process with a time limit; kills it by pid when the limit passes. */
export function run(cmd: string, args: string[], input?: string, timeoutMs = 120_000, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
    child.stdin.on('error', () => {});
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** OpenSSH `ssh` with a password through sshpass. */
export function openssh(port: number, args: string[], input?: string, password = PASSWORD, extra: string[] = []): Promise<Run> {
  // `extra` first: for a repeated -o option, OpenSSH keeps the first value.
  return run('sshpass', ['-p', password, 'ssh', ...extra, ...OPENSSH_OPTS, '-p', String(port), 'admin@127.0.0.1', ...args], input);
}

/** An ssh2 client, connected and authenticated. */
export function connect(port: number, cfg: Partial<ConnectConfig> = {}): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port, username: 'admin', password: PASSWORD, readyTimeout: 120_000, ...cfg });
  });
}

/** Runs one exec channel to completion: its output and exit status. */
export function execOn(c: ssh2.Client, command: string, stdin?: string): Promise<{ out: string; code: number | undefined }> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, ch) => {
      if (err) return reject(err);
      let out = '';
      let code: number | undefined;
      ch.on('data', (d: Buffer) => (out += d));
      ch.on('exit', (c2: number) => (code = c2));
      ch.on('close', () => resolve({ out, code }));
      if (stdin !== undefined) ch.end(stdin);
    });
  });
}

/** Reads a channel until `pattern` matches what arrived, or fails after `ms`. */
export function until(ch: ClientChannel | NodeJS.ReadableStream, pattern: RegExp, ms = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      if (pattern.test(buf)) {
        cleanup();
        resolve(buf);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(buf)}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      ch.removeListener('data', onData);
    };
    ch.on('data', onData);
  });
}

/** A raw TCP connection (for pre-authentication limits): resolves when the server closes it. */
export function rawConnect(port: number): Promise<{ sock: net.Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    const closed = new Promise<number>((r) => sock.on('close', () => r(Date.now() - start)));
    sock.on('error', () => {});
    sock.resume(); // read (and drop) the server's identification, or its close is never seen
    sock.once('connect', () => resolve({ sock, closed }));
    sock.once('error', reject);
  });
}
