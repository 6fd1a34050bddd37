// Building certificates and CSRs. Node's crypto has no encoder for either, and node-forge can only
// sign with RSA keys, so the DER is assembled with forge's ASN.1 writer and signed with Node's
// crypto (RSA PKCS#1 v1.5 or ECDSA), which handles every key type we offer.
import crypto from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';
import type { KeyType } from '../interfaces.js';
import { toPem } from './pem.js';

const { asn1 } = forge;
type Node = forge.asn1.Asn1;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

const seq = (...v: Node[]): Node => asn1.create(U, T.SEQUENCE, true, v);
const set = (...v: Node[]): Node => asn1.create(U, T.SET, true, v);
const oid = (o: string): Node => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
const int = (b: Buffer): Node => asn1.create(U, T.INTEGER, false, b.toString('binary'));
const utf8 = (s: string): Node => asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(s));
const bool = (v: boolean): Node => asn1.create(U, T.BOOLEAN, false, v ? '\xff' : '\x00');
const octets = (b: Buffer): Node => asn1.create(U, T.OCTETSTRING, false, b.toString('binary'));
const bits = (b: Buffer, unused = 0): Node => asn1.create(U, T.BITSTRING, false, String.fromCharCode(unused) + b.toString('binary'));
const ctx = (tag: number, constructed: boolean, v: Node[] | string): Node => asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, constructed, v);
const toDer = (n: Node): Buffer => Buffer.from(asn1.toDer(n).getBytes(), 'binary');
const fromDer = (b: Buffer): Node => asn1.fromDer(b.toString('binary'), { decodeBitStrings: false } as never) as Node;
const time = (d: Date): Node =>
  d.getUTCFullYear() < 2050 ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d)) : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));

const OID = {
  cn: '2.5.4.3',
  o: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  san: '2.5.29.17',
  ski: '2.5.29.14',
  aki: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  /** id-pe-acmeIdentifier (RFC 8737). */
  acmeIdentifier: '1.3.6.1.5.5.7.1.31',
  extensionRequest: '1.2.840.113549.1.9.14',
};

const rsaSha256 = () => seq(oid('1.2.840.113549.1.1.11'), asn1.create(U, T.NULL, false, ''));

export const generateKeyPairAsync = promisify(crypto.generateKeyPair);

/** Generates a private key of the given type, off the event loop. */
export async function generateKey(type: KeyType): Promise<crypto.KeyObject> {
  const { privateKey } = type.startsWith('RSA')
    ? await generateKeyPairAsync('rsa', { modulusLength: Number(type.slice(4)) })
    : await generateKeyPairAsync('ec', { namedCurve: type === 'ECDSA-P384' ? 'P-384' : 'P-256' });
  return privateKey as crypto.KeyObject;
}

export function privateKeyPem(key: crypto.KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** The algorithm identifier and hash for signatures made with `key`. */
function signer(key: crypto.KeyObject): { alg: Node; hash: string } {
  if (key.asymmetricKeyType === 'rsa') return { alg: rsaSha256(), hash: 'sha256' };
  if (key.asymmetricKeyType === 'ec') {
    const p384 = key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
    return { alg: seq(oid(p384 ? '1.2.840.10045.4.3.3' : '1.2.840.10045.4.3.2')), hash: p384 ? 'sha384' : 'sha256' };
  }
  throw new Error(`cannot sign with a ${key.asymmetricKeyType} key`);
}

function name(cn: string | undefined, org?: string): Node {
  const rdns: Node[] = [];
  if (org) rdns.push(set(seq(oid(OID.o), utf8(org))));
  if (cn !== undefined && cn !== '') rdns.push(set(seq(oid(OID.cn), utf8(cn))));
  return seq(...rdns);
}

function generalNames(names: readonly string[]): Node {
  return seq(
    ...names.map((n) => {
      const ip = n.startsWith('IP:') ? n.slice(3) : net.isIP(n) ? n : undefined;
      if (ip !== undefined) {
        const bytes = net.isIPv4(ip) ? Buffer.from(ip.split('.').map(Number)) : ipv6Bytes(ip);
        return ctx(7, false, bytes.toString('binary'));
      }
      return ctx(2, false, n);
    }),
  );
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.flatMap((g) => { const v = parseInt(g, 16); return [v >> 8, v & 255]; }));
}

function extension(id: string, critical: boolean, value: Node): Node {
  return critical ? seq(oid(id), bool(true), octets(toDer(value))) : seq(oid(id), octets(toDer(value)));
}

/** keyUsage bits, DER-minimal (trailing zero bits counted as unused). */
function keyUsage(byte: number): Node {
  let unused = 0;
  while (unused < 7 && !(byte & (1 << unused))) unused++;
  return bits(Buffer.from([byte]), unused);
}

function spkiDer(key: crypto.KeyObject): Buffer {
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' }) as Buffer;
}

function keyId(spki: Buffer): Buffer {
  const bitString = (fromDer(spki).value as Node[])[1]!.value as string;
  return crypto.createHash('sha1').update(Buffer.from(bitString, 'binary').subarray(1)).digest();
}

export function randomSerial(random: (n: number) => Buffer = crypto.randomBytes): Buffer {
  const s = random(16);
  s[0] = (s[0]! & 0x7f) | 0x40; // positive, and no leading zero byte to strip
  return s;
}

export interface CertificateSpec {
  readonly commonName?: string;
  readonly organization?: string;
  readonly altNames?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCA?: boolean;
  /** The subject's key (public or private). */
  readonly subjectKey: crypto.KeyObject;
  /** Issuer certificate and key; omitted for self-signed (signed with subjectKey, which must be private). */
  readonly issuer?: { cert: crypto.X509Certificate; key: crypto.KeyObject };
  readonly serial?: Buffer;
  /** Sign with SHA-1/RSA (only to test the weak-signature warning). */
  readonly weakSignature?: boolean;
  /**
   * SHA-256 of an ACME key authorization: adds the critical id-pe-acmeIdentifier extension
   * whose value is this digest as a DER OCTET STRING (the tls-alpn-01 certificate, RFC 8737).
   */
  readonly acmeIdentifier?: Buffer;
}

/** Builds and signs an X.509 v3 certificate; returns its PEM. */
export function buildCertificate(spec: CertificateSpec): string {
  const spki = spkiDer(spec.subjectKey);
  const signKey = spec.issuer?.key ?? spec.subjectKey;
  const issuerSpki = spec.issuer ? spkiDer(spec.issuer.cert.publicKey) : spki;
  const issuerName = spec.issuer ? subjectName(spec.issuer.cert) : name(spec.commonName, spec.organization);
  let { alg, hash } = signer(signKey);
  if (spec.weakSignature) {
    alg = seq(oid('1.2.840.113549.1.1.5'), asn1.create(U, T.NULL, false, ''));
    hash = 'sha1';
  }
  const exts: Node[] = [];
  if (spec.isCA) {
    exts.push(extension(OID.basicConstraints, true, seq(bool(true))));
    exts.push(extension(OID.keyUsage, true, keyUsage(0x06)));
  } else {
    const rsa = spec.subjectKey.asymmetricKeyType === 'rsa';
    exts.push(extension(OID.keyUsage, true, keyUsage(rsa ? 0xa0 : 0x80)));
    exts.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth))));
  }
  if (spec.altNames?.length) exts.push(extension(OID.san, false, generalNames(spec.altNames)));
  if (spec.acmeIdentifier) {
    if (spec.acmeIdentifier.length !== 32) throw new Error('acmeIdentifier must be a SHA-256 digest (32 bytes)');
    exts.push(extension(OID.acmeIdentifier, true, octets(spec.acmeIdentifier)));
  }
  exts.push(extension(OID.ski, false, octets(keyId(spki))));
  exts.push(extension(OID.aki, false, seq(ctx(0, false, keyId(issuerSpki).toString('binary')))));
  const tbs = seq(
    ctx(0, true, [int(Buffer.from([2]))]),
    int(spec.serial ?? randomSerial()),
    alg,
    issuerName,
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.commonName, spec.organization),
    fromDer(spki),
    ctx(3, true, [seq(...exts)]),
  );
  const tbsDer = toDer(tbs);
  const sig = crypto.sign(hash, tbsDer, signKey);
  return toPem('CERTIFICATE', toDer(seq(fromDer(tbsDer), alg, bits(sig))));
}

/** The subject Name of a certificate, as encoded (so the issuer field matches byte for byte). */
function subjectName(cert: crypto.X509Certificate): Node {
  const fields = (fromDer(cert.raw).value as Node[])[0]!.value as Node[];
  const v = fields[0]!;
  const off = v.tagClass === asn1.Class.CONTEXT_SPECIFIC && v.type === 0 ? 1 : 0;
  return fields[off + 4]!;
}

/** Builds a PKCS#10 CSR with the CN and the SANs requested as an extension; returns its PEM. */
export function buildCsr(key: crypto.KeyObject, commonName: string, altNames: readonly string[]): string {
  const { alg, hash } = signer(key);
  const exts: Node[] = [];
  if (altNames.length) exts.push(extension(OID.san, false, generalNames(altNames)));
  const attrs = exts.length ? [seq(oid(OID.extensionRequest), set(seq(...exts)))] : [];
  const info = seq(int(Buffer.from([0])), name(commonName), fromDer(spkiDer(key)), ctx(0, true, attrs));
  const infoDer = toDer(info);
  const sig = crypto.sign(hash, infoDer, key);
  return toPem('CERTIFICATE REQUEST', toDer(seq(fromDer(infoDer), alg, bits(sig))));
}

/** A self-signed server certificate for `host` (first boot), valid for `days`. */
export function selfSigned(key: crypto.KeyObject, host: string, now: Date, days = 825): string {
  const notBefore = new Date(now.getTime() - 60_000);
  return buildCertificate({
    commonName: host,
    organization: 'xway self-signed',
    altNames: [host],
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * 86_400_000),
    subjectKey: key,
  });
}
