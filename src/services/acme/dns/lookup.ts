// Questions asked straight to a server, never through the system resolver: which zone holds a
// name (SOA), which servers are authoritative for it (NS), and what TXT values a name has there.
import { DnsNotZone, DnsServerError } from './errors.js';
import { describeServer, query, type DnsServer, type ExchangeOptions } from './exchange.js';
import { TYPE, inZone, normalizeName, rcodeName, sameName, txtValue } from './wire.js';

/**
 * The zone of `name` at `server`: ask for the SOA of the name, then of each parent. A name below
 * the apex is answered with the zone's SOA in the authority section, which ends the walk at once;
 * a server that is not authoritative refuses, and we go up a label.
 */
export async function findZone(server: DnsServer, name: string, o: ExchangeOptions): Promise<string> {
  const labels = normalizeName(name).split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const candidate = labels.slice(i).join('.');
    const m = await query(server, candidate, TYPE.SOA, o);
    const rcode = rcodeName(m.header.rcode);
    if (!m.header.aa || (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN')) continue;
    const soa = [...m.answer, ...m.authority].find((r) => r.type === TYPE.SOA && inZone(name, r.name));
    if (soa) return normalizeName(soa.name);
  }
  throw new DnsNotZone(`DNS server ${describeServer(server)} serves no zone containing ${normalizeName(name)}`);
}

export interface Nameserver {
  /** The NS host name, or the configured server's address when it is not listed. */
  readonly name: string;
  readonly server: DnsServer;
}

export interface NameserverOptions extends ExchangeOptions {
  /** Port the zone's NS hosts answer on (53 in the world; the tests' BIND is elsewhere). */
  readonly nameserverPort: number;
  /** Addresses of an NS host the server has no address records for (outside its zones). */
  readonly resolveHost: (host: string) => Promise<string[]>;
}

async function addresses(server: DnsServer, host: string, type: number, o: ExchangeOptions): Promise<string[]> {
  const m = await query(server, host, type, o);
  return m.answer.flatMap((r) => (r.type === type && r.data.kind === 'address' && sameName(r.name, host) ? [r.data.address] : []));
}

/**
 * Every server that must answer before the CA looks: the configured server itself (often a hidden
 * primary) and each NS of the zone, by its IPv4 addresses (IPv6 only when it has no IPv4: a host
 * without an IPv6 route could otherwise never see the records). Glue first, then the server's
 * own records, then `resolveHost`.
 */
export async function authoritativeServers(server: DnsServer, zone: string, o: NameserverOptions): Promise<Nameserver[]> {
  const m = await query(server, zone, TYPE.NS, o);
  const rcode = rcodeName(m.header.rcode);
  if (rcode !== 'NOERROR') throw new DnsServerError(`DNS server ${describeServer(server)} did not list the name servers of zone ${zone} (${rcode})`, rcode);
  const hosts = [...new Set(m.answer.flatMap((r) => (r.type === TYPE.NS && r.data.kind === 'name' && sameName(r.name, zone) ? [normalizeName(r.data.name)] : [])))].sort();
  const out: Nameserver[] = [{ name: describeServer(server), server }];
  const seen = new Set([describeServer(server)]);
  for (const host of hosts) {
    const glue = (type: number) => m.additional.flatMap((r) => (r.type === type && r.data.kind === 'address' && sameName(r.name, host) ? [r.data.address] : []));
    let found = glue(TYPE.A);
    if (found.length === 0) found = await addresses(server, host, TYPE.A, o);
    if (found.length === 0) found = glue(TYPE.AAAA);
    if (found.length === 0) found = await addresses(server, host, TYPE.AAAA, o);
    if (found.length === 0) found = await o.resolveHost(host);
    if (found.length === 0) throw new DnsServerError(`Name server ${host} of zone ${zone} has no address`, 'NXDOMAIN');
    for (const address of found) {
      const ns = { name: host, server: { host: address, port: o.nameserverPort } };
      if (seen.has(describeServer(ns.server))) continue;
      seen.add(describeServer(ns.server));
      out.push(ns);
    }
  }
  return out;
}

/** The TXT values of `name` at `server`, from an authoritative answer only. */
export async function txtValues(server: DnsServer, name: string, o: ExchangeOptions): Promise<Set<string>> {
  const m = await query(server, name, TYPE.TXT, o);
  const rcode = rcodeName(m.header.rcode);
  if (rcode === 'NXDOMAIN' && m.header.aa) return new Set();
  if (rcode !== 'NOERROR') throw new DnsServerError(`DNS server ${describeServer(server)} answered ${rcode} for ${name} TXT`, rcode);
  if (!m.header.aa) throw new DnsServerError(`DNS server ${describeServer(server)} is not authoritative for ${name}`, 'NOTAUTH');
  return new Set(m.answer.flatMap((r) => (r.type === TYPE.TXT && r.data.kind === 'txt' && sameName(r.name, name) ? [txtValue(r.data.strings)] : [])));
}
