// Password hashes: scrypt, computed off the event loop. One check costs ~80 ms of CPU; done with
// scryptSync, 40 guessers froze every session for seconds. Checks now run on libuv's thread pool,
// at most `maxConcurrent` at once for the whole appliance (the pool's 4 threads also serve file
// I/O and key generation, which must not starve), the rest wait their turn in arrival order. The
// queue needs no bound of its own: each SSH connection has at most one login request in flight,
// and the connection limits (src/ssh/limits.ts) bound the connections.
import crypto from 'node:crypto';

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** A key derivation function: resolves to `keylen` bytes derived from the password and salt. */
export type Kdf = (password: string, salt: Buffer, keylen: number, params: ScryptParams) => Promise<Buffer>;

export const scryptKdf: Kdf = (password, salt, keylen, params) =>
  new Promise((resolve, reject) => crypto.scrypt(password, salt, keylen, params, (e, dk) => (e ? reject(e) : resolve(dk))));

const PARAMS: ScryptParams = { N: 16384, r: 8, p: 1 };
const KEYLEN = 32;

/**
 * A hash of a random password nobody knows, checked in place of an unknown user's or an unusable
 * stored hash, so that every login attempt costs exactly one check whoever it names.
 */
export const DUMMY_HASH = 'scrypt$16384$jaQ5Wtct60BXgQGdpgJ0PA==$tz4p5Tfomv7rW8CT9/OY7ax/pdxlZ4j20Cr6CgtqOfI=';

interface Parsed {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function parse(stored: string): Parsed | undefined {
  const [kind, n, salt, hash, ...rest] = stored.split('$');
  const N = Number(n);
  // N is a power of two up to 2^20 (scrypt refuses others; larger ones would be a memory bomb).
  if (kind !== 'scrypt' || !salt || !hash || rest.length || !Number.isInteger(N) || N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0) return undefined;
  const dk = Buffer.from(hash, 'base64');
  if (dk.length < 16) return undefined;
  return { params: { ...PARAMS, N }, salt: Buffer.from(salt, 'base64'), hash: dk };
}

const format = (salt: Buffer, dk: Buffer, N = PARAMS.N) => `scrypt$${N}$${salt.toString('base64')}$${dk.toString('base64')}`;

/** For the first boot, before anything listens: the one hash computed on the event loop. */
export function hashPasswordSync(password: string): string {
  const salt = crypto.randomBytes(16);
  return format(salt, crypto.scryptSync(password, salt, KEYLEN, PARAMS));
}

export class PasswordHasher {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly kdf: Kdf = scryptKdf, readonly maxConcurrent = 2) {}

  async hash(password: string): Promise<string> {
    const salt = crypto.randomBytes(16);
    return format(salt, await this.derive(password, salt, KEYLEN, PARAMS));
  }

  /**
   * True when `password` matches `stored`. `stored` undefined (no such user) or unusable still
   * costs one check, against DUMMY_HASH, and answers false.
   */
  async check(password: string, stored: string | undefined): Promise<boolean> {
    const real = stored === undefined ? undefined : parse(stored);
    const p = real ?? parse(DUMMY_HASH)!;
    const dk = await this.derive(password, p.salt, p.hash.length, p.params);
    return crypto.timingSafeEqual(dk, p.hash) && real !== undefined;
  }

  /** Checks running now and waiting for a turn. */
  load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private async derive(password: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
    if (this.running >= this.maxConcurrent) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await this.kdf(password, salt, keylen, params);
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
