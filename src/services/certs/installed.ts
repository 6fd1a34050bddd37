// A generation as the certificate service holds it: the pair, where it came from, decoded.
import crypto from 'node:crypto';
import type { InstalledCertificate } from '../interfaces.js';
import type { Logger } from '../../platform/log.js';
import type { GenerationRef, GenerationStore, Pair } from '../../stores/generations.js';
import { parsePem } from './pem.js';
import { decodeCertificate } from './x509.js';

export interface Loaded {
  readonly ref: GenerationRef;
  readonly pair: Pair;
  readonly installed: InstalledCertificate;
}

export function toInstalled(ref: GenerationRef, pair: Pair): InstalledCertificate {
  const [block] = parsePem(pair.certPem);
  return { info: decodeCertificate(block!, 'Stored certificate').info, certPem: pair.certPem, chainPem: pair.chainPem, source: ref.source, installed: ref.installed };
}

export function pairMatches(pair: Pair): boolean {
  try {
    return new crypto.X509Certificate(pair.certPem).checkPrivateKey(crypto.createPrivateKey(pair.keyPem));
  } catch {
    return false;
  }
}

/** Loads the pointer's current generation (or else the previous one); undefined when neither is sound. */
export function loadCurrent(store: GenerationStore, logger: Logger): Loaded | undefined {
  const p = store.pointer();
  for (const ref of [p.current, p.previous]) {
    if (!ref) continue;
    const pair = store.read(ref.id);
    if (pair && pairMatches(pair)) return { ref, pair, installed: toInstalled(ref, pair) };
    logger.log({ event: 'certs.generation-unusable', level: 'error', dir: store.prefix, generation: ref.id });
  }
  return undefined;
}
