// Password, keyboard-interactive (a password prompt: how Cisco's jsxapi logs in) and public-key
// login. Each failure is audited, counted against the connection's attempts and answered after the
// source's penalty delay (src/ssh/limits.ts); a correct login is answered at once. Key queries
// ("would this key do?") and "none" are not guesses: no delay, no audit line.
import ssh2 from 'ssh2';
import type { AuthContext } from 'ssh2';
import type { AccountService } from '../services/interfaces.js';
import type { Logger } from '../platform/log.js';
import type { LoginLimits } from './limits.js';

const { utils } = ssh2;

export const METHODS: AuthContext['method'][] = ['publickey', 'keyboard-interactive', 'password'];

/** Signature algorithms accepted for public-key login (no SHA-1 `ssh-rsa` signatures). */
export function acceptableSignature(keyAlgo: string, hashAlgo: string | undefined): boolean {
  if (keyAlgo === 'ssh-rsa') return hashAlgo === 'sha256' || hashAlgo === 'sha512';
  return true;
}

export interface AuthDeps {
  readonly accounts: AccountService;
  readonly limits: LoginLimits;
  readonly logger: Logger;
  /** Source address (penalties are per source) and ip:port (for the log). */
  readonly ip: string;
  readonly remote: string;
  readonly session: string;
  /** True once the connection is gone: late answers are dropped. */
  closed(): boolean;
  /** Called for each failed attempt that counts as a guess (monitoring). */
  onFailure?(): void;
  /** Called once, just before the success is sent. */
  onSuccess(user: string): void;
  /** Too many failures on this connection: end it. */
  disconnect(): void;
}

/** The handler for one connection's `authentication` events. */
export function authenticator(d: AuthDeps): (ctx: AuthContext) => void {
  const { limits, ip, remote } = d;
  let tries = 0;

  const audit = (who: string, method: string, result: string) =>
    d.logger.audit({ who, from: remote, what: `ssh login (${method})`, result, session: d.session });

  const succeed = (ctx: AuthContext) => {
    if (d.closed()) return;
    audit(ctx.username, ctx.method, 'success');
    d.onSuccess(ctx.username);
    ctx.accept();
  };
  const fail = (ctx: AuthContext, penalize: boolean) => {
    tries++;
    if (penalize) audit(ctx.username, ctx.method, 'failure');
    if (penalize) d.onFailure?.();
    const delay = penalize ? limits.failure(ip) : 0;
    const answer = () => {
      if (d.closed()) return;
      if (tries >= limits.policy.maxAuthTries) {
        d.logger.log({ event: 'ssh.too-many-tries', level: 'warn', from: remote });
        d.disconnect();
        return;
      }
      ctx.reject(METHODS);
    };
    if (delay > 0) setTimeout(answer, delay).unref();
    else answer();
  };

  // The check runs off the event loop (src/stores/passwords.ts); the connection may be gone when
  // it resolves. Unknown users cost the same one check: timing tells nothing.
  const checkPassword = (ctx: AuthContext, name: string, password: string) => {
    d.accounts.verifyPassword(name, password).then(
      (ok) => {
        if (d.closed()) return;
        if (ok && d.accounts.roleOf(name)) return succeed(ctx);
        fail(ctx, true);
      },
      (e: unknown) => {
        d.logger.log({ event: 'ssh.password-check-failed', level: 'error', error: String((e as Error)?.stack ?? e) });
        if (!d.closed()) fail(ctx, true);
      },
    );
  };

  return (ctx: AuthContext) => {
    const name = ctx.username;
    switch (ctx.method) {
      case 'password':
        return checkPassword(ctx, name, ctx.password);
      case 'keyboard-interactive':
        // An empty name and instruction, as PAM sends: OpenSSH prints a non-empty name on the
        // client's terminal at every login, into ssh/sshpass/expect output.
        return ctx.prompt([{ prompt: 'Password: ', echo: false }], '', '', (answers) => {
          if (d.closed()) return;
          checkPassword(ctx, name, answers[0] ?? '');
        });
      case 'publickey': {
        const known = !!d.accounts.roleOf(name) && d.accounts.hasKey(name, ctx.key.algo, ctx.key.data);
        if (!ctx.signature) {
          // A query ("would this key do?"): answer without counting it as a guess.
          if (known) return ctx.accept();
          return fail(ctx, false);
        }
        if (!known || !acceptableSignature(ctx.key.algo, ctx.hashAlgo)) return fail(ctx, known);
        const key = utils.parseKey(ctx.key.data);
        const ok = !(key instanceof Error) && ctx.blob !== undefined && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo);
        if (ok) return succeed(ctx);
        return fail(ctx, true);
      }
      default:
        // "none" and host-based: say which methods exist; not a guess.
        return ctx.reject(METHODS);
    }
  };
}
