// The peers of a cluster renew at different times: each draws its automated sign moments inside
// its own share (slot) of every half-day and of the CA's window; standalone (no slot, or a slot of
// one) plans exactly as before; the deploy days and the urgent paths do not move.
import t from 'tap';
import fc from 'fast-check';
import { inSlot, nextSignMoment, plan, signMoments, DAY_MS, type PlanInput, type RenewalSlot } from '../../src/services/acme/scheduler.js';

const T0 = Date.UTC(2027, 0, 4, 0, 0, 0); // a Monday
const LIFE = 90 * DAY_MS;
const seed = 'c'.repeat(64);
const cert = { notBefore: T0, notAfter: T0 + LIFE };
const base: PlanInput = { now: T0, automated: true, signing: false, schedule: { days: 'Mon,Thu', time: '03:00' }, periodMs: DAY_MS, seed };

t.test('a slot narrows the drawn unit to its share', async (t) => {
  t.equal(inSlot(0.5, undefined), 0.5, 'standalone: unchanged');
  t.equal(inSlot(0.5, { index: 0, count: 1 }), 0.5, 'a cluster of one: unchanged');
  t.equal(inSlot(0, { index: 2, count: 3 }), 2 / 3);
  t.ok(inSlot(0.999999, { index: 2, count: 3 }) < 1);
  t.equal(inSlot(0.5, { index: 1, count: 2 }), 0.75);
});

t.test('peers of one cluster sign in disjoint stretches of every half-day', async (t) => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 3650 }), fc.integer({ min: 2, max: 6 }), fc.string({ minLength: 8, maxLength: 16 }),
    (day, count, s) => {
      const index = Math.floor(T0 / DAY_MS) + day;
      const moments = Array.from({ length: count }, (_, i) => signMoments(index, DAY_MS, s, { index: i, count }));
      for (const half of [0, 1]) {
        const start = index * DAY_MS + half * (DAY_MS / 2);
        const share = DAY_MS / 2 / count;
        for (const [i, m] of moments.entries()) {
          // Peer i's moment lies in its own share of the half: never the same minute as another's.
          if (m[half]! < start + i * share || m[half]! >= start + (i + 1) * share) return false;
        }
      }
      return true;
    }), { numRuns: 300 });
  const three = [0, 1, 2].map((i) => nextSignMoment(T0, DAY_MS, seed, { index: i, count: 3 }));
  t.ok(three[0]! < three[1]! && three[1]! < three[2]!, 'by rank of the peer number');
  t.ok(three[2]! - three[0]! >= DAY_MS / 6, 'hours apart, not minutes');
});

t.test('plan: standalone as before, the slot moves only the drawn moments', async (t) => {
  const slot: RenewalSlot = { index: 1, count: 3 };
  const renewing = { ...base, deployed: { ...cert, acme: true } };
  t.same(plan({ ...renewing, slot: { index: 0, count: 1 } }), plan(renewing), 'a slot of one is no slot');
  const mine = plan({ ...renewing, slot }).nextSign!;
  const start = T0 + 60 * DAY_MS;
  t.ok(mine >= start && mine < start + DAY_MS, 'still the first day after two thirds');
  const inHalf = (mine - start) % (DAY_MS / 2);
  t.ok(inHalf >= DAY_MS / 6 && inHalf < DAY_MS / 3, 'inside the second third of a half-day');

  // With the CA's window (ARI): inside the slot's share of the window.
  const ari = { start: T0 + 50 * DAY_MS, end: T0 + 53 * DAY_MS };
  const withAri = plan({ ...renewing, ari, slot }).nextSign!;
  t.ok(withAri >= ari.start + DAY_MS && withAri < ari.start + 2 * DAY_MS, 'the middle day of a three-day window');

  // Urgent (expired): sign now, whatever the slot.
  const expired = { ...base, now: T0 + LIFE + 1, deployed: { ...cert, acme: true } };
  for (const s of [undefined, slot]) {
    const p = plan({ ...expired, ...(s ? { slot: s } : {}) });
    t.ok(p.nextSign! <= expired.now && p.urgent === 'expired', `due at once (${s ? 'in a cluster' : 'standalone'})`);
  }
  const failed = { ...expired, signNotBefore: expired.now + 60_000 };
  t.same(plan({ ...failed, slot }), plan(failed), 'after a failure: the back-off alone, no drawn moment');
  // The deploy days are the peer's own schedule: the slot does not move a deploy.
  const pending = { signed: T0 + 60 * DAY_MS + 5, notBefore: T0 + 60 * DAY_MS, notAfter: T0 + 150 * DAY_MS };
  t.same(plan({ ...renewing, pending, slot }).nextDeploy, plan({ ...renewing, pending }).nextDeploy);
});
