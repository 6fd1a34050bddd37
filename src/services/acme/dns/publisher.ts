// Publishing dns-01 TXT records by RFC 2136 dynamic update signed with TSIG (RFC 8945).
// Why an owned module: no npm package sends UPDATE with TSIG, and deleting one TXT value among
// several needs class NONE, which dns-packet cannot encode (measured in shared/docs/dns01.md).
import crypto from 'node:crypto';
import dns from 'node:dns';
import { CommandError, ParameterError } from '../../../errors.js';
import type { Clock } from '../../../platform/clock.js';
import type { DnsProbeReport } from '../../interfaces.js';
import { DnsNotVisible, isDnsError } from './errors.js';
import { describeServer, type DnsServer, type ExchangeOptions } from './exchange.js';
import { authoritativeServers, findZone, txtValues, type Nameserver } from './lookup.js';
import type { TsigKey } from './tsig.js';
import { sendUpdate } from './update.js';
import { CLASS, TYPE, isValidName, normalizeName, txtRdata, type RecordOut } from './wire.js';

/** One dns-01 record: `name` is the full owner name (see challengeName). */
export interface TxtValue {
  readonly name: string;
  readonly value: string;
}

export interface Visibility {
  /** Every server that answered all values, as `host (address:port)`. */
  readonly servers: readonly string[];
  readonly elapsedMs: number;
}

/** What a probe (`test()`) reports: the contract's own type, so the service passes it on unchanged. */
export type ProbeReport = DnsProbeReport;

/**
 * Where dns-01 values go. Errors are DnsError classes (errors.ts), one sentence each, never
 * containing a secret. Calls are independent; concurrent calls for the same names are the
 * caller's to avoid (one order at a time per target).
 */
export interface TxtPublisher {
  /**
   * Adds every value in one update per zone (one zone in practice), next to whatever values the
   * names already have: a wildcard and its base name share one name and both stay. Resolves with
   * the zones written. Throws DnsNotZone, DnsBadSig, DnsBadKey, DnsRefused, DnsBadTime,
   * DnsUnreachable, DnsBadReply, DnsServerError, or ParameterError for a name that is not a
   * host name. When values span zones and a later zone fails, earlier ones stay written: after
   * any failure, call remove() with the same values (it deletes only what exists).
   */
  add(values: readonly TxtValue[]): Promise<string[]>;
  /** Deletes exactly these values (others at the same names stay); absent ones are no error. Throws as add. */
  remove(values: readonly TxtValue[]): Promise<void>;
  /**
   * Resolves once every authoritative server of each zone answers every value, asking the servers
   * directly; throws DnsNotVisible (naming the first server still missing one) after `timeoutMs`.
   */
  waitVisible(values: readonly TxtValue[], timeoutMs: number): Promise<Visibility>;
  /** Adds a random probe value at `name` (default `_acme-challenge.<Zone>`), waits for it, deletes it. */
  test(name?: string, timeoutMs?: number): Promise<ProbeReport>;
}

export interface Rfc2136Options {
  readonly server: DnsServer;
  /** The zone to update; when absent, found from the SOA of each name. */
  readonly zone?: string;
  readonly key: TsigKey;
  readonly clock: Clock;
  /** TTL of added records: short, the values live for one order. */
  readonly ttl?: number;
  /** Per request. */
  readonly timeoutMs?: number;
  /** Between rounds of visibility checks. */
  readonly pollIntervalMs?: number;
  /** Port of the zone's NS hosts (53). */
  readonly nameserverPort?: number;
  /** Addresses of an NS host outside the server's zones (default: the system's getaddrinfo). */
  readonly resolveHost?: (host: string) => Promise<string[]>;
}

/** The owner name of the dns-01 record for an identifier: a wildcard's goes to its base name (RFC 8555 8.4). */
export function challengeName(identifier: string): string {
  return `_acme-challenge.${normalizeName(identifier).replace(/^\*\./, '')}`;
}

async function systemAddresses(host: string): Promise<string[]> {
  try {
    return (await dns.promises.lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

export class Rfc2136Publisher implements TxtPublisher {
  private readonly zones = new Map<string, string>();
  private readonly o: ExchangeOptions;

  constructor(private readonly opts: Rfc2136Options) {
    this.o = { clock: opts.clock, timeoutMs: opts.timeoutMs ?? 5000 };
  }

  private async zoneOf(name: string): Promise<string> {
    if (this.opts.zone) return normalizeName(this.opts.zone);
    const key = normalizeName(name);
    let zone = this.zones.get(key);
    if (zone === undefined) {
      zone = await findZone(this.opts.server, key, this.o);
      this.zones.set(key, zone);
    }
    return zone;
  }

  /** Values grouped by zone, duplicates dropped, names checked before anything is sent. */
  private async byZone(values: readonly TxtValue[]): Promise<Map<string, TxtValue[]>> {
    const out = new Map<string, TxtValue[]>();
    const seen = new Set<string>();
    for (const v of values) {
      if (!isValidName(v.name) || normalizeName(v.name) === '') throw new ParameterError(`Not a valid DNS name for a TXT record: ${JSON.stringify(v.name).slice(0, 80)}`);
      const id = `${normalizeName(v.name)} ${v.value}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const zone = await this.zoneOf(v.name);
      out.set(zone, [...(out.get(zone) ?? []), v]);
    }
    return out;
  }

  private async update(values: readonly TxtValue[], record: (v: TxtValue) => RecordOut): Promise<string[]> {
    const groups = await this.byZone(values);
    const c = { server: this.opts.server, key: this.opts.key, ...this.o };
    for (const [zone, vs] of groups) await sendUpdate(c, zone, vs.map(record));
    return [...groups.keys()];
  }

  add(values: readonly TxtValue[]): Promise<string[]> {
    const ttl = this.opts.ttl ?? 60;
    return this.update(values, (v) => ({ name: v.name, type: TYPE.TXT, class: CLASS.IN, ttl, rdata: txtRdata(v.value) }));
  }

  async remove(values: readonly TxtValue[]): Promise<void> {
    // Class NONE deletes this one value from the RRset (RFC 2136 2.5.4).
    await this.update(values, (v) => ({ name: v.name, type: TYPE.TXT, class: CLASS.NONE, ttl: 0, rdata: txtRdata(v.value) }));
  }

  async waitVisible(values: readonly TxtValue[], timeoutMs: number): Promise<Visibility> {
    const start = this.o.clock.monotonic();
    const groups = await this.byZone(values);
    const checks: { ns: Nameserver; name: string; want: string[]; lastError?: string }[] = [];
    const opts = { ...this.o, nameserverPort: this.opts.nameserverPort ?? 53, resolveHost: this.opts.resolveHost ?? systemAddresses };
    for (const [zone, vs] of groups) {
      const names = new Map<string, string[]>();
      for (const v of vs) names.set(normalizeName(v.name), [...(names.get(normalizeName(v.name)) ?? []), v.value]);
      for (const ns of await authoritativeServers(this.opts.server, zone, opts)) {
        for (const [name, want] of names) checks.push({ ns, name, want });
      }
    }
    const label = (ns: Nameserver) => (ns.name === describeServer(ns.server) ? ns.name : `${ns.name} (${describeServer(ns.server)})`);
    const servers = [...new Set(checks.map((c) => label(c.ns)))];
    let pending = checks;
    for (;;) {
      const elapsed = this.o.clock.monotonic() - start;
      const left = timeoutMs - elapsed;
      // Each query gets what is left of the budget, so a silent server cannot stretch the bound.
      const o = { clock: this.o.clock, timeoutMs: Math.max(1, Math.min(this.o.timeoutMs, left)) };
      const done = await Promise.all(pending.map(async (c) => {
        try {
          const have = await txtValues(c.ns.server, c.name, o);
          const missing = c.want.filter((w) => !have.has(w));
          c.lastError = missing.length ? `${missing.length} of ${c.want.length} values missing` : undefined;
          return missing.length === 0;
        } catch (e) {
          if (!isDnsError(e)) throw e;
          c.lastError = e.message;
          return false;
        }
      }));
      pending = pending.filter((_, i) => !done[i]);
      const now = this.o.clock.monotonic() - start;
      if (pending.length === 0) return { servers, elapsedMs: now };
      if (now >= timeoutMs) {
        const p = pending[0]!;
        throw new DnsNotVisible(`TXT record ${p.name} is not visible at ${label(p.ns)} after ${Math.round(timeoutMs / 100) / 10} s (${p.lastError})`);
      }
      const wait = Math.min(this.opts.pollIntervalMs ?? 200, timeoutMs - now);
      await new Promise<void>((resolve) => this.o.clock.setTimeout(resolve, wait));
    }
  }

  async test(name?: string, timeoutMs = 30_000): Promise<ProbeReport> {
    if (!name && !this.opts.zone) throw new CommandError('A DNS probe needs a domain name when no zone is configured');
    const probe = { name: name ?? challengeName(this.opts.zone!), value: crypto.randomBytes(32).toString('base64url') };
    const clock = this.o.clock;
    const t0 = clock.monotonic();
    const [zone] = await this.add([probe]);
    const t1 = clock.monotonic();
    let visible: Visibility;
    try {
      visible = await this.waitVisible([probe], timeoutMs);
    } catch (e) {
      // The probe goes either way; the first failure is the one to report.
      await this.remove([probe]).catch(() => {});
      throw e;
    }
    const t2 = clock.monotonic();
    await this.remove([probe]);
    return {
      name: normalizeName(probe.name), zone: zone!, server: describeServer(this.opts.server),
      addMs: t1 - t0, visibleMs: t2 - t1, removeMs: clock.monotonic() - t2, servers: visible.servers,
    };
  }
}
