// 300-second certificates from Pebble (certificateValidityPeriod), for the server and an SNI
// domain, renewed by the appliance's own automated renewal with the production limits (sign
// moments drawn per day, ticks at most hourly) and the real clock: the sign period shrinks to a
// twelfth of the lifetime, so each renewal is signed at about second 200; the only deploy day lies
// days after the certificates' notAfter, so each renewed certificate is deployed when signed, and
// the listener presents it before the old one expires. Waits for the service's own events,
// bounded only to end a hung run.
import t from 'tap';
import { acmeEnv } from '../helpers/acme-env.js';
import { tlsProbe } from '../../src/services/acme/probe.js';
import { DAY_MS, deployDeadline, renewalTime, nextSlot } from '../../src/services/acme/scheduler.js';
import type { CertificateInfo } from '../../src/services/interfaces.js';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const SNI = 'sni.short.example.com';
type Progress = { name: string; fields: Record<string, string | number> };
// The renewal comes about 200 s into the lifetime: past the suite's 300 s per file on a busy machine.
t.setTimeout(900_000);

t.test('300-second certificates are renewed by the scheduler and served before they expire', { timeout: 600_000 }, async (t) => {
  const env = await acmeEnv(t, { pebble: { validitySeconds: 300 } });
  await env.configure();
  await env.csr(['short.example.com']);
  env.certs.addDomain(SNI, undefined, { user: 'admin', role: 'Admin', remote: 'test', session: 'test' });

  // The first certificates by hand; everything after them is the scheduler's.
  const first = await env.shell([
    'xCommand Security Acme Sign Wait: True', 'xCommand Security Acme Deploy',
    `xCommand Security Acme Sign Domain: ${SNI} Wait: True`, `xCommand Security Acme Deploy Domain: ${SNI}`,
  ].join('\n'));
  t.equal(first.out.match(/Result \(status=OK\)/g)?.length, 4, first.out);
  const inUse = (event: string): { info: CertificateInfo; source: string } => {
    if (event === 'Server') return env.certs.active();
    const c = env.certs.domains().find((d) => d.name === SNI)!.certificate!;
    return { info: c.info, source: c.source };
  };
  const targets = [{ event: 'Server', servername: undefined }, { event: SNI, servername: SNI }].map((x) => {
    const info = inUse(x.event).info;
    return { ...x, old: info, life: { notBefore: Date.parse(info.notBefore), notAfter: Date.parse(info.notAfter) } };
  });
  for (const x of targets) {
    t.equal(inUse(x.event).source, 'Acme');
    const life = (x.life.notAfter - x.life.notBefore) / 1000;
    // Pebble's notAfter is the last valid second (inclusive): 299 s apart.
    t.ok(life >= 299 && life <= 300, `${x.event}: Pebble signed a 300-second certificate (${life} s)`);
    t.equal(await tlsProbe('127.0.0.1', env.httpsPort, x.servername), x.old.serial, `${x.event}: served`);
  }
  const expiry = Math.min(...targets.map((x) => x.life.notAfter));

  // One deploy day, three days ahead (UTC): its slot comes after the certificates in use expire.
  const schedule = { days: WEEKDAYS[new Date(Date.now() + 3 * DAY_MS).getUTCDay()]!, time: '00:00' };
  t.ok(nextSlot(Date.now(), schedule)! > expiry + DAY_MS, `the next deploy slot (${schedule.days} ${schedule.time}) is days after notAfter`);

  const progress: Progress[] = [];
  const renewedServed = new Map<string, number>();
  let wake: () => void = () => {};
  env.onEvent((e) => {
    if (e.name !== 'AcmeProgress') return;
    progress.push(e);
    wake();
  });
  const deployed = new Promise<void>((resolve, reject) => {
    const bound = setTimeout(() => reject(new Error(`no automated deploys within 300 s; events: ${JSON.stringify(progress)}`)), 300_000);
    wake = () => {
      const last = progress[progress.length - 1]!;
      const x = targets.find((y) => y.event === last.fields.Target);
      if (x && last.fields.Status === 'Deployed' && last.fields.Detail !== x.old.serial) {
        // Asked at once: the listener must present the renewed certificate before the old one expires.
        void tlsProbe('127.0.0.1', env.httpsPort, x.servername).then((served) => {
          if (served === last.fields.Detail) renewedServed.set(x.event, Date.now());
          if (renewedServed.size === targets.length) {
            clearTimeout(bound);
            resolve();
          }
        }, reject);
      }
      if (last.fields.Status === 'Failed' || last.fields.Status === 'DeployFailed') {
        clearTimeout(bound);
        reject(new Error(`automated renewal failed: ${JSON.stringify(last.fields)}`));
      }
    };
  });
  env.set({ 'Security Acme Scheduler Days': schedule.days, 'Security Acme Scheduler Time': schedule.time, 'Security Acme Scheduler Mode': 'On' });
  const status = env.acmeStatus() as { NextSign: string; Domain: { Name: string; NextSign: string }[] };
  for (const [x, next] of [[targets[0]!, status.NextSign], [targets[1]!, status.Domain.find((d) => d.Name === SNI)!.NextSign]] as const) {
    const at = Date.parse(next);
    t.ok(at >= renewalTime(x.life) - 1000 && at < x.life.notAfter, `${x.event}: NextSign ${next} lies between two thirds of the lifetime and notAfter`);
  }

  await deployed;
  const log = env.logLines.map((l) => JSON.parse(l) as Record<string, string>);
  for (const x of targets) {
    const renewed = inUse(x.event);
    t.not(renewed.info.serial, x.old.serial, `${x.event}: a new certificate is in use`);
    t.equal(renewed.source, 'Acme');
    t.equal(await tlsProbe('127.0.0.1', env.httpsPort, x.servername), renewed.info.serial, `${x.event}: the listener presents it`);
    const servedAt = renewedServed.get(x.event)!;
    t.ok(servedAt < x.life.notAfter, `${x.event}: served ${((x.life.notAfter - servedAt) / 1000).toFixed(0)} s before the old certificate's notAfter`);

    // The scheduler signed it (not a command), after two thirds of the old lifetime, and deployed
    // it when signed rather than at the deploy day.
    const signed = log.find((e) => e.event === 'acme.signed' && e.serial === renewed.info.serial);
    t.ok(signed, `${x.event}: acme.signed logged for the renewal`);
    const signedAt = Date.parse(signed!.time!);
    t.ok(signedAt >= renewalTime(x.life) - 1000, `${x.event}: signed ${((signedAt - x.life.notBefore) / 1000).toFixed(0)} s into the 300 s lifetime`);
    const audits = log.filter((e) => e.what === 'Security Acme Deploy' && e.serial === renewed.info.serial);
    t.same(audits.map((e) => e.who), ['scheduler'], `${x.event}: deployed by the scheduler`);
    // Not the deploy day, nor the four-fifths deadline (the rule when the slot is sooner than notAfter).
    const deployedAt = Date.parse(audits[0]!.time!);
    t.ok(deployedAt < deployDeadline(x.life), `${x.event}: deployed when signed (${((deployedAt - signedAt) / 1000).toFixed(1)} s later), before four fifths of the old lifetime`);
    t.same(progress.filter((e) => e.fields.Target === x.event && e.fields.Status === 'Deployed').map((e) => e.fields.Detail), [renewed.info.serial], `${x.event}: one automated deploy`);
  }
  t.match(env.acmeStatus(), {
    LastSign: { Status: 'Succeeded' }, LastDeploy: { Status: 'Succeeded' }, Renewal: { Source: 'Lifetime' },
    Domain: [{ Name: SNI, LastSign: { Status: 'Succeeded' }, LastDeploy: { Status: 'Succeeded' }, Renewal: { Source: 'Lifetime' } }],
  });
  t.notOk(env.alarms.list().some((a) => a.id.startsWith('acme.')), 'no ACME alarm');
});
