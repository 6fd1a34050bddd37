// dns-01 publishing against a real BIND (named, started here with tsig-keygen keys and a dynamic
// zone), with dig and nsupdate as oracles: what we add, dig sees at the server; what nsupdate adds,
// our queries see and our removals delete exactly; every refusal becomes its own one-sentence error.
import t from 'tap';
import net from 'node:net';
import { systemClock, type Clock } from '../../src/platform/clock.js';
import {
  DnsBadKey, DnsBadReply, DnsBadSig, DnsBadTime, DnsNotVisible, DnsNotZone, DnsRefused, DnsUnreachable,
  Rfc2136Publisher, TsigKey, challengeName, type Rfc2136Options, type TxtValue,
} from '../../src/services/acme/dns/index.js';
import { signMessage, verifyReply } from '../../src/services/acme/dns/tsig.js';
import { exchangeTcp, exchangeUdp, type DnsServer } from '../../src/services/acme/dns/exchange.js';
import { findZone, txtValues } from '../../src/services/acme/dns/lookup.js';
import { updateError } from '../../src/services/acme/dns/update.js';
import { CLASS, OPCODE, TYPE, decodeMessage, encodeMessage, txtRdata } from '../../src/services/acme/dns/wire.js';
import { startBind, type BindKey } from '../helpers/bind.js';
import { freePort } from '../helpers/pebble.js';

const O = { clock: systemClock, timeoutMs: 5000 };

const bind = await startBind({
  keys: [
    { name: 'acme-key' },
    { name: 'acme-512', algorithm: 'hmac-sha512' },
    // May touch only one name: anything else is REFUSED by the server's policy.
    { name: 'narrow-key', grant: 'name _acme-challenge.narrow.example.test. TXT' },
  ],
  records: ['w1 IN A 127.0.0.1'],
});
t.teardown(() => bind.stop());
const server: DnsServer = { host: bind.host, port: bind.port };
const keyOf = (k: BindKey) => new TsigKey(k.name, k.algorithm, k.secret);
const [acmeKey, key512, narrowKey] = bind.keys.map(keyOf) as [TsigKey, TsigKey, TsigKey];

function publisher(o: Partial<Rfc2136Options> = {}): Rfc2136Publisher {
  return new Rfc2136Publisher({ server, zone: 'example.test', key: acmeKey, clock: systemClock, nameserverPort: bind.port, ...o });
}

let serial = 0;
/** A fresh name per test, so tests cannot see each other's records. */
const fresh = (label: string) => `_acme-challenge.${label}${++serial}.example.test`;
const value = (n: number) => `${'v'.repeat(36)}-${String(n).padStart(6, '0')}`;

t.test('a wildcard and its base name: both values at one name, removed one at a time', async (t) => {
  const name = challengeName(`*.w${++serial}.example.test`);
  t.equal(name, challengeName(`w${serial}.example.test`));
  const wild: TxtValue = { name, value: value(1) };
  const base: TxtValue = { name, value: value(2) };
  const p = publisher();
  t.same(await p.add([wild, base]), ['example.test']);
  t.same(await bind.txt(name), [value(1), value(2)], 'dig at the server sees both');
  const seen = await p.waitVisible([wild, base], 10_000);
  t.same(seen.servers, [`127.0.0.1:${bind.port}`], 'the server and its NS (the same address) polled once');

  await p.remove([wild]);
  t.same(await bind.txt(name), [value(2)], 'removing one value leaves the other');
  await p.remove([base]);
  t.same(await bind.txt(name), [], 'then nothing');
  await p.remove([base]);
  t.pass('removing an absent value is no error (cleanup after a crash)');
});

t.test('nsupdate as the oracle, both ways', async (t) => {
  const name = fresh('oracle');
  await bind.nsupdate([`update add ${name}. 60 TXT "from-nsupdate"`]);
  t.same([...await txtValues(server, name, O)], ['from-nsupdate'], 'our query sees what nsupdate added');

  const p = publisher();
  await p.add([{ name, value: 'from-us-1' }, { name, value: 'from-us-2' }]);
  t.same(await bind.txt(name), ['from-nsupdate', 'from-us-1', 'from-us-2'], 'added beside, never replacing');
  await bind.nsupdate([`update delete ${name}. TXT "from-us-1"`]);
  t.same(await bind.txt(name), ['from-nsupdate', 'from-us-2'], 'nsupdate deletes our value by its text: same encoding');
  await p.remove([{ name, value: 'from-nsupdate' }]);
  t.same(await bind.txt(name), ['from-us-2'], 'we delete exactly the value nsupdate added');
  await p.remove([{ name, value: 'from-us-2' }]);
  t.same(await bind.txt(name), []);
});

t.test('waitVisible keeps asking until a late record shows', async (t) => {
  const v = { name: fresh('late'), value: 'late-value' };
  // The poll's pause (37 ms, unlike any exchange timeout) tells us a round found the record missing.
  let missed!: () => void;
  const roundMissed = new Promise<void>((r) => { missed = r; });
  const clock: Clock = { ...systemClock, setTimeout: (fn, ms) => { if (ms === 37) missed(); return systemClock.setTimeout(fn, ms); } };
  const waiting = publisher({ clock, pollIntervalMs: 37 }).waitVisible([v], 20_000);
  await roundMissed;
  await bind.nsupdate([`update add ${v.name}. 60 TXT "${v.value}"`]);
  const seen = await waiting;
  t.ok(seen.elapsedMs > 0 && seen.elapsedMs < 20_000, `seen after ${Math.round(seen.elapsedMs)} ms`);
  await publisher().remove([v]);
  t.same(await bind.txt(v.name), []);
});

t.test('hmac-sha512, and many values at one name read back over TCP after a truncated UDP answer', async (t) => {
  const name = fresh('many');
  const values = Array.from({ length: 12 }, (_, i) => ({ name, value: value(i) }));
  const p = publisher({ key: key512 });
  await p.add(values);
  t.equal((await bind.txt(name)).length, 12);
  // The UDP answer alone is truncated (more than 512 bytes without EDNS) ...
  const raw = await exchangeUdp(server, encodeMessage({ id: 7, opcode: OPCODE.QUERY, question: [{ name, type: TYPE.TXT, class: CLASS.IN }] }), O);
  t.ok(decodeMessage(raw).header.tc, 'the UDP answer is truncated');
  // ... so waitVisible only succeeds by asking again over TCP.
  await p.waitVisible(values, 10_000);
  t.same([...await txtValues(server, name, O)].sort(), values.map((v) => v.value).sort());
  await p.remove(values);
  t.same(await bind.txt(name), []);
});

t.test('the zone found from the SOA when none is configured', async (t) => {
  t.equal(await findZone(server, '_acme-challenge.deep.below.example.test', O), 'example.test');
  t.equal(await findZone(server, 'example.test', O), 'example.test');
  await t.rejects(findZone(server, '_acme-challenge.example.org', O), {
    constructor: DnsNotZone, message: `DNS server 127.0.0.1:${bind.port} serves no zone containing _acme-challenge.example.org`,
  });
  const p = publisher({ zone: undefined });
  const v = { name: fresh('found'), value: 'found-zone' };
  t.same(await p.add([v]), ['example.test']);
  t.same(await bind.txt(v.name), ['found-zone']);
  await p.remove([v]);
  t.same(await bind.txt(v.name), []);
});

t.test('refusals: each a sentence of its own, nothing changed, no secret in the text', async (t) => {
  const name = fresh('refused');
  const v = [{ name, value: 'never' }];
  const wrongSecret = new TsigKey('acme-key', 'hmac-sha256', Buffer.alloc(32, 7).toString('base64'));
  const cases: [string, () => Promise<unknown>, object][] = [
    ['wrong secret', () => publisher({ key: wrongSecret }).add(v), {
      constructor: DnsBadSig, kind: 'BADSIG',
      message: `DNS server 127.0.0.1:${bind.port} rejected the signature of TSIG key acme-key (BADSIG): the secret differs from the server's`,
    }],
    ['unknown key', () => publisher({ key: new TsigKey('nobody', 'hmac-sha256', bind.keys[0]!.secret) }).add(v), {
      constructor: DnsBadKey, kind: 'BADKEY', message: `DNS server 127.0.0.1:${bind.port} does not know TSIG key nobody with algorithm hmac-sha256 (BADKEY)`,
    }],
    ['known key, other algorithm', () => publisher({ key: new TsigKey('acme-key', 'hmac-sha512', bind.keys[0]!.secret) }).add(v), { constructor: DnsBadKey }],
    ['out-of-zone name', () => publisher().add([{ name: '_acme-challenge.example.org', value: 'x' }]), {
      constructor: DnsNotZone, kind: 'NOTZONE',
      message: `DNS server 127.0.0.1:${bind.port} refused the update: _acme-challenge.example.org is not in zone example.test (NOTZONE)`,
    }],
    ['zone the server does not serve', () => publisher({ zone: 'example.org' }).add([{ name: '_acme-challenge.example.org', value: 'x' }]), {
      constructor: DnsNotZone, message: `DNS server 127.0.0.1:${bind.port} is not authoritative for zone example.org (NOTAUTH)`,
    }],
    ['policy', () => publisher({ key: narrowKey }).add(v), {
      constructor: DnsRefused, kind: 'REFUSED',
      message: `DNS server 127.0.0.1:${bind.port} refused the update of ${name} by TSIG key narrow-key (REFUSED): its update policy does not allow it`,
    }],
    ['clock an hour ahead', () => publisher({ clock: { ...systemClock, now: () => new Date(Date.now() + 3600_000) } }).add(v), {
      constructor: DnsBadTime, kind: 'BADTIME',
      message: /^DNS server 127\.0\.0\.1:\d+ rejected the request time \(BADTIME\): its clock and ours differ by 360\d s, more than the 300 s allowed$/,
    }],
  ];
  for (const [what, promise, want] of cases) {
    const err = await promise().then(() => undefined, (e: Error) => e);
    t.match(err, want, what);
    for (const k of bind.keys) t.notMatch(err?.message ?? '', k.secret, `${what}: no secret`);
  }
  t.same(await bind.txt(name), [], 'nothing was added');

  // The narrow key may change its own name, which shows the REFUSED above came from the policy.
  const allowed = { name: '_acme-challenge.narrow.example.test', value: 'narrow-ok' };
  await publisher({ key: narrowKey }).add([allowed]);
  t.same(await bind.txt(allowed.name), ['narrow-ok']);
  await publisher({ key: narrowKey }).remove([allowed]);
});

t.test('a server that is down is unreachable, at once', async (t) => {
  const port = await freePort(true);
  const start = performance.now();
  await t.rejects(publisher({ server: { host: '127.0.0.1', port } }).add([{ name: fresh('down'), value: 'x' }]), {
    constructor: DnsUnreachable, kind: 'UNREACHABLE', message: `DNS server 127.0.0.1:${port} is unreachable: connection refused`,
  });
  await t.rejects(findZone({ host: '127.0.0.1', port }, 'example.test', O), { constructor: DnsUnreachable, message: /connection refused$/ });
  t.ok(performance.now() - start < 4000, 'no waiting for a timeout');
  await t.rejects(publisher({ server: { host: 'no-such-host.invalid', port } }).add([{ name: fresh('nohost'), value: 'x' }]), {
    // The system resolver says so (ENOTFOUND, or EAI_AGAIN where it cannot reach its upstream).
    constructor: DnsUnreachable, message: /^DNS server no-such-host\.invalid:\d+ is unreachable: (no such host|its name does not resolve)$/,
  });
  await t.rejects(findZone({ host: 'no-such-host.invalid', port }, 'example.test', O), { constructor: DnsUnreachable, message: /(no such host|its name does not resolve)$/ });

  // A server that accepts and never answers: the exchange timeout bounds it.
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => silent.close());
  const silentPort = (silent.address() as net.AddressInfo).port;
  await t.rejects(publisher({ server: { host: '127.0.0.1', port: silentPort }, timeoutMs: 300 }).add([{ name: fresh('silent'), value: 'x' }]), {
    constructor: DnsUnreachable, message: `DNS server 127.0.0.1:${silentPort} is unreachable: no answer within 0.3 s`,
  });
});

t.test('every authoritative server is asked: a silent second NS means not visible, within the bound', async (t) => {
  // A second BIND on its own zone whose second NS (127.0.0.2) answers nothing.
  const two = await startBind({ zone: 'two.test', records: ['@ IN NS ns2.two.test.', 'ns2 IN A 127.0.0.2'] });
  t.teardown(() => two.stop());
  const key = keyOf(two.keys[0]!);
  const p = new Rfc2136Publisher({ server: { host: two.host, port: two.port }, key, clock: systemClock, nameserverPort: two.port, pollIntervalMs: 50, timeoutMs: 500 });
  const v = { name: '_acme-challenge.two.test', value: 'only-at-one' };
  await p.add([v]);
  const start = performance.now();
  await t.rejects(p.waitVisible([v], 1500), {
    constructor: DnsNotVisible, kind: 'NOTVISIBLE',
    message: `TXT record _acme-challenge.two.test is not visible at ns2.two.test (127.0.0.2:${two.port}) after 1.5 s (DNS server 127.0.0.2:${two.port} is unreachable: connection refused)`,
  });
  const ms = performance.now() - start;
  t.ok(ms >= 1400 && ms < 6000, `bounded: ${Math.round(ms)} ms`);
  t.same(await two.txt(v.name), ['only-at-one'], 'the primary had it all along');
  await p.remove([v]);
  t.same(await two.txt(v.name), []);
});

t.test('test(): a probe added, seen, deleted', async (t) => {
  const report = await publisher().test();
  t.match(report, { name: '_acme-challenge.example.test', zone: 'example.test', server: `127.0.0.1:${bind.port}`, servers: [`127.0.0.1:${bind.port}`] });
  t.same(await bind.txt('_acme-challenge.example.test'), [], 'no probe left behind');
  await t.rejects(publisher({ zone: undefined }).test(), { message: 'A DNS probe needs a domain name when no zone is configured' });
  const r2 = await publisher({ zone: undefined }).test('_acme-challenge.w1.example.test');
  t.equal(r2.zone, 'example.test');
});

/** A signed update sent by hand, so the reply's bytes can be tampered with. */
async function signedExchange(key: TsigKey, clock: Clock = systemClock) {
  const id = 4242;
  const msg = encodeMessage({
    id, opcode: OPCODE.UPDATE, question: [{ name: 'example.test', type: TYPE.SOA, class: CLASS.IN }],
    authority: [{ name: fresh('raw'), type: TYPE.TXT, class: CLASS.NONE, ttl: 0, rdata: txtRdata('absent') }],
  });
  const signed = signMessage(msg, key, Math.floor(clock.now().getTime() / 1000));
  return { signed, raw: await exchangeTcp(server, signed.bytes, O) };
}

t.test('a reply with a tampered, missing or foreign TSIG is rejected', async (t) => {
  const { signed, raw } = await signedExchange(acmeKey);
  const now = Math.floor(Date.now() / 1000);
  const check = (bytes: Buffer, mac = signed.mac, key = acmeKey, at = now) => verifyReply(bytes, decodeMessage(bytes), key, mac, at);
  t.match(check(raw), { ok: true }, 'the real reply verifies');

  const m = decodeMessage(raw);
  const tsigAt = m.additional[m.additional.length - 1]!.offset;
  const flip = (at: number) => { const b = Buffer.from(raw); b[at]! ^= 1; return b; };
  t.match(check(flip(raw.length - 10)), { ok: false, problem: 'badMac' }, 'a bit of the MAC flipped');
  t.match(check(flip(3)), { ok: false, problem: 'badMac' }, 'a bit of the header (rcode) flipped');
  const unsigned = Buffer.from(raw.subarray(0, tsigAt));
  unsigned.writeUInt16BE(0, 10);
  t.match(check(unsigned), { ok: false, problem: 'unsigned' }, 'the TSIG stripped');
  // The TSIG kept but its MAC emptied, as if it were an error the server could not sign.
  const t0 = m.additional[m.additional.length - 1]!;
  const forged = Buffer.concat([raw.subarray(0, tsigAt), encodeMessage({ id: 0, opcode: 0, question: [], additional: [{
    name: 'acme-key', type: TYPE.TSIG, class: CLASS.ANY, ttl: 0,
    rdata: Buffer.concat([t0.rdata.subarray(0, 13 + 8), Buffer.alloc(2), t0.rdata.subarray(t0.rdata.length - 6)]),
  }] }).subarray(12)]);
  t.match(check(forged), { ok: false, problem: 'badMac', detail: 'a MAC of 0 bytes' }, 'success claimed without a MAC');
  t.match(updateError({ server, key: acmeKey }, 'example.test', [], decodeMessage(unsigned), check(unsigned), now), {
    constructor: DnsBadReply, message: `DNS server 127.0.0.1:${bind.port} sent an unsigned reply (NOERROR) to an update signed with TSIG key acme-key`,
  }, 'an unsigned NOERROR is not believed');
  t.match(check(raw, Buffer.alloc(32)), { ok: false, problem: 'badMac' }, 'not the reply to our request');
  t.match(check(raw, signed.mac, key512), { ok: false, problem: 'wrongKey' }, 'signed by another key');
  t.match(check(raw, signed.mac, acmeKey, now + 3600), { ok: false, problem: 'badTime' }, 'signed an hour from our clock');

  // The same through the publisher: a man in the middle flips one bit of the reply's MAC.
  const proxy = net.createServer((c) => {
    const up = net.connect(bind.port, '127.0.0.1');
    c.pipe(up);
    let reply = Buffer.alloc(0);
    up.on('data', (d: Buffer) => {
      reply = Buffer.concat([reply, d]);
      if (reply.length >= 2 && reply.length >= 2 + reply.readUInt16BE(0)) { reply[reply.length - 10]! ^= 1; c.end(reply); }
    });
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.teardown(() => proxy.close());
  const proxyPort = (proxy.address() as net.AddressInfo).port;
  await t.rejects(publisher({ server: { host: '127.0.0.1', port: proxyPort } }).add([{ name: fresh('mitm'), value: 'x' }]), {
    constructor: DnsBadReply, message: `DNS server 127.0.0.1:${proxyPort} sent a reply whose TSIG signature does not verify with TSIG key acme-key`,
  });
});
