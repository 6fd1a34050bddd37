// The certificate an etcd member's client listener serves in TlsVerify Mode Permissive. Clients
// pin what the voters present, but gRPC still checks that the certificate names the address it
// dialled, and a fresh appliance's own (first-boot, self-signed) certificate names its host name
// only: two fresh appliances could never form a cluster by address. So a voter serves a
// self-signed certificate naming its peer address instead, made once and kept in the cluster TLS
// directory: other peers' pins must survive this member's restarts. Its subject names the address
// too, so the pins of several voters never share a subject (OpenSSL picks a trust anchor by subject).
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { atomicWrite, ensureDir, readIfExists } from '../../platform/files.js';
import { generateKey, privateKeyPem, selfSigned } from '../certs/build.js';

export interface MemberCertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Whether `pem` names `address` and is valid now (and for a day more). */
function fits(pem: string, address: string, now: Date): boolean {
  try {
    const x = new crypto.X509Certificate(pem);
    const named = net.isIP(address) ? x.checkIP(address) !== undefined : x.checkHost(address) !== undefined;
    return named && new Date(x.validFrom) <= now && new Date(x.validTo).getTime() > now.getTime() + 86_400_000;
  } catch {
    return false;
  }
}

/** The Permissive listener certificate for `address` in `dir`: the kept one, or a new one. */
export async function permissiveMemberCert(dir: string, address: string, now = new Date()): Promise<MemberCertFiles> {
  const certFile = path.join(dir, 'member-permissive.pem');
  const keyFile = path.join(dir, 'member-permissive.key');
  const kept = readIfExists(certFile)?.toString('utf8');
  if (kept && readIfExists(keyFile) && fits(kept, address, now)) return { certFile, keyFile };
  const key = await generateKey('ECDSA-P256');
  ensureDir(dir);
  atomicWrite(keyFile, privateKeyPem(key), { mode: 0o600 });
  atomicWrite(certFile, selfSigned(key, address, now), { mode: 0o644 });
  return { certFile, keyFile };
}

const PINS_FILE = 'pinned-members.json';

/**
 * Pure: the pins to trust, per voter endpoint: what each presents now, else what it presented
 * before (`kept`). Endpoints no longer in the plan are dropped.
 */
export function mergePins(kept: Readonly<Record<string, string>>, endpoints: readonly string[], presented: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  endpoints.forEach((e, i) => {
    const pem = presented[i] || kept[e];
    if (pem) out[e] = pem;
  });
  return out;
}

/**
 * What a Permissive client trusts (trust on first use, as SSH's known_hosts): the certificates the
 * voters present now, and for a voter that does not answer now, the one it presented before, kept
 * in `dir`. A peer that restarts while another voter is down trusts that voter when it comes back
 * (its member certificate is kept across its own restarts: permissiveMemberCert).
 */
export function permissivePins(dir: string, endpoints: readonly string[], presented: readonly string[]): string {
  const file = path.join(dir, PINS_FILE);
  let kept: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(readIfExists(file)?.toString('utf8') ?? '{}');
    if (parsed && typeof parsed === 'object') kept = Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  } catch {
    // A damaged file pins nothing: what answers now is pinned again.
  }
  const pins = mergePins(kept, endpoints, presented);
  if (JSON.stringify(pins) !== JSON.stringify(kept)) {
    ensureDir(dir);
    atomicWrite(file, JSON.stringify(pins), { mode: 0o644 });
  }
  return Object.values(pins).join('');
}
