// Every storage key is built here. A key is a `/`-joined list of plain names; names that come
// from users (upload file names, domain names, archive names) are hostile input: only a short
// name of safe characters is accepted. `..`, separators, NUL, leading dots (which also keeps
// keys apart from the file storage's hidden temp and trash names), empty and absolute names are
// refused with a ParameterError naming the input.
import { ParameterError } from '../errors.js';
import { isSafeName } from '../platform/paths.js';

/** A key that went through this builder; storage implementations accept nothing else. */
export type Key = string & { readonly __storageKey: unique symbol };

export { isSafeName };

/** `base/name`, or the single name when there is no base; `what` names the input in the error. */
export function key(base: Key | undefined, name: string, what = 'file name'): Key {
  if (!isSafeName(name)) {
    throw new ParameterError(`Invalid ${what} ${JSON.stringify(name)}: expected letters, digits, . _ - (no path)`);
  }
  return (base === undefined ? name : `${base}/${name}`) as Key;
}

/** A key from fixed names written in the code, e.g. `keyOf('certs', 'csr.json')`. */
export function keyOf(...names: string[]): Key {
  let k: Key | undefined;
  for (const n of names) k = key(k, n, 'storage name');
  if (k === undefined) throw new ParameterError('Empty storage key');
  return k;
}

/**
 * A wildcard domain's `*` cannot be in a storage name: `*.example.com` is stored as
 * `_wildcard.example.com`. No hosted name can start so (DNS host labels have no `_`), so the two
 * forms never collide, and a plain name is stored as it is (data written earlier loads unchanged).
 * The stored form then goes through `key()` like any other name.
 */
const WILDCARD_STORED = '_wildcard.';

/** The storage name of a hosted domain (`*.example.com` -> `_wildcard.example.com`). */
export function storedDomainName(name: string): string {
  return name.startsWith('*.') ? WILDCARD_STORED + name.slice(2) : name;
}

/** The domain name of a storage name (`_wildcard.example.com` -> `*.example.com`); the caller still checks it. */
export function domainOfStoredName(stored: string): string {
  return stored.startsWith(WILDCARD_STORED) ? `*.${stored.slice(WILDCARD_STORED.length)}` : stored;
}

/** The names a key is made of. */
export function parts(k: Key): string[] {
  return k.split('/');
}

/** The four areas the storage holds; the on-disk layout of the data directory. */
export const AREAS = {
  certs: keyOf('certs'),
  trust: keyOf('trust'),
  acme: keyOf('acme'),
  /** The admin's upload area, shown as /tmp in the shell and over SFTP. */
  uploads: keyOf('uploads'),
} as const;
