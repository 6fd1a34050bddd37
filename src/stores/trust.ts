// The trusted CA list as stored: one PEM bundle, trust/ca-bundle.pem (0644), replaced whole on
// every change. Why a bundle rather than rows in the database: it is what every TLS tool reads
// (`openssl verify -CAfile`, Node's `ca` option, curl), one atomic put makes a change atomic, and
// 1000 entries (~2 MB) are rewritten in milliseconds.
import { keyOf } from './keys.js';
import type { Storage } from './storage.js';

export const BUNDLE_FILE = 'ca-bundle.pem';
const BUNDLE = keyOf('trust', BUNDLE_FILE);

export class TrustBundle {
  constructor(private readonly storage: Storage) {}

  /** The bundle text, or undefined before the first boot seeded it. */
  read(): string | undefined {
    return this.storage.get(BUNDLE)?.toString('utf8');
  }

  write(text: string): void {
    this.storage.put(BUNDLE, text, { secret: false });
  }
}
