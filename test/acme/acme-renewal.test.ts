// Automated renewal for real: Pebble issues 30-second certificates, the scheduler (real clock)
// signs again after two thirds of each lifetime and deploys through the live swap; the listener
// never presents an expired certificate. Sign moments are drawn per 2-second period here instead
// of per day, and the first deploy waits for the configured HH:MM slot.
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { acmeEnv } from '../helpers/acme-env.js';
import { tlsProbe } from '../../src/services/acme/probe.js';
import { renewalTime } from '../../src/services/acme/scheduler.js';

t.test('30-second certificates renewed and deployed by the scheduler', { timeout: 240_000 }, async (t) => {
  const env = await acmeEnv(t, {
    pebble: { validitySeconds: 30 },
    limits: { signPeriodMs: 2000, tickMaxMs: 1000, alarmCheckMs: 1000, retryBaseMs: 200, waitMaxMs: 20_000 },
  });
  await env.configure();
  await env.csr(['renew.example.com']);
  // The first slot: the next whole minute at least 10 s away (UTC), every day.
  const slot = Math.ceil((Date.now() + 10_000) / 60_000) * 60_000;
  const hhmm = new Date(slot).toISOString().slice(11, 16);
  env.set({ 'Security Acme Scheduler Days': 'Mon,Tue,Wed,Thu,Fri,Sat,Sun', 'Security Acme Scheduler Time': hhmm, 'Security Acme Scheduler Mode': 'On' });
  const selfSigned = env.certs.active().info.serial;

  const served: { at: number; serial: string }[] = [];
  const expiredServed: string[] = [];
  const deadline = Date.now() + 200_000;
  while (Date.now() < deadline) {
    const serial = await tlsProbe('127.0.0.1', env.httpsPort, undefined);
    const now = Date.now();
    if (!served.length || served[served.length - 1]!.serial !== serial) served.push({ at: now, serial });
    const active = env.certs.active();
    if (active.info.serial === serial && Date.parse(active.info.notAfter) < now - 1000) expiredServed.push(serial);
    if (served.length >= 4) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.ok(served.length >= 4, `self-signed, then ${served.length - 1} ACME certificates served: ${served.map((s) => s.serial).join(' → ')}`);
  t.equal(served[0]!.serial, selfSigned);
  t.ok(served[1]!.at >= slot - 500 && served[1]!.at < slot + 5000, `first ACME certificate deployed at the ${hhmm} slot (${new Date(served[1]!.at).toISOString()})`);
  t.same(expiredServed, [], 'never served an expired certificate');

  // Each renewal was signed after two thirds of the lifetime of the certificate it replaced
  // (lifetimes from the archive of issued certificates, signing times from the service's log).
  const signed = env.logLines.map((l) => JSON.parse(l) as { event: string; time: string; serial?: string }).filter((e) => e.event === 'acme.signed');
  t.ok(signed.length >= 3, `${signed.length} signings`);
  for (let i = 2; i < served.length; i++) {
    const prev = new crypto.X509Certificate(fs.readFileSync(path.join(env.dir, 'acme', 'archive', `${served[i - 1]!.serial}.pem`)));
    const renewAt = renewalTime({ notBefore: Date.parse(prev.validFrom), notAfter: Date.parse(prev.validTo) });
    const at = Date.parse(signed.find((e) => e.serial === served[i]!.serial)!.time);
    // Certificate times have whole seconds: allow one second.
    t.ok(at >= renewAt - 1000, `renewal ${i - 1} signed ${((at - Date.parse(prev.validFrom)) / 1000).toFixed(1)} s into a ${(Date.parse(prev.validTo) - Date.parse(prev.validFrom)) / 1000} s lifetime`);
  }
  t.match(env.acmeStatus(), { LastSign: { Status: 'Succeeded' }, LastDeploy: { Status: 'Succeeded' } });
  t.notOk(env.acme.challengesActive());
});
