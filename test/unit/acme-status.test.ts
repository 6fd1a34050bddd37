// The one status word scripts poll: a closed set, derived purely from the recorded state, first
// match in the documented order.
import t from 'tap';
import { deriveStatus, targetTree, iso, NO_SIGN, NO_DEPLOY, NO_DRY_RUN, STATUS_WORDS, type TargetView } from '../../src/services/acme/status.js';
import { STATUS } from '../../schema/status.js';

const base: TargetView = {
  account: 'Valid', automated: false, signing: false, progress: '', challengeType: 'Http01', published: '', lastSign: NO_SIGN, lastDeploy: NO_DEPLOY, lastDryRun: NO_DRY_RUN, deployedByAcme: false,
  renewal: { explanationUrl: '', failures: 0 },
};
const at = (s: string) => `2026-11-23T${s}Z`;

t.test('first match wins, in the documented order', async (t) => {
  t.equal(deriveStatus({ ...base, account: 'None' }), 'Disabled');
  t.equal(deriveStatus({ ...base, account: 'Deactivated' }), 'Disabled');
  t.equal(deriveStatus(base), 'Configured');
  t.equal(deriveStatus({ ...base, deployedByAcme: true }), 'Deployed');
  const pending = { subject: 'CN=a', serial: '01', notAfter: at('10:00:00') };
  t.equal(deriveStatus({ ...base, deployedByAcme: true, pending }), 'PendingDeploy');
  t.equal(deriveStatus({ ...base, pending, automated: true }), 'Automated');
  const failedSign = { status: 'Failed' as const, time: at('10:00:00'), reason: 'x' };
  t.equal(deriveStatus({ ...base, automated: true, lastSign: failedSign }), 'Failed');
  t.equal(deriveStatus({ ...base, lastSign: failedSign, lastDeploy: { status: 'Succeeded', time: at('11:00:00'), reason: '' } }), 'Configured', 'a later deploy success clears it');
  t.equal(deriveStatus({ ...base, lastSign: { status: 'Succeeded', time: at('12:00:00'), reason: '' }, lastDeploy: { status: 'Failed', time: at('11:00:00'), reason: 'x' } }), 'Configured', 'a later sign success clears it');
  t.equal(deriveStatus({ ...base, lastDeploy: { status: 'Failed', time: at('11:00:00'), reason: 'x' } }), 'Failed');
  t.equal(deriveStatus({ ...base, lastDryRun: { status: 'Failed', time: at('13:00:00'), reason: 'x' } }), 'Configured', 'a failed dry run is no failure of the target');
  t.equal(deriveStatus({ ...base, account: 'None', signing: true }), 'Signing');
});

t.test('every word and value is declared', async (t) => {
  const decl = STATUS.find((n) => n.path.join(' ') === 'Security Acme Status')!;
  t.same(decl.type.literals, STATUS_WORDS);
  const tree = targetTree({ ...base, signing: true, progress: 'Finalizing', nextSign: Date.UTC(2026, 10, 23, 10, 0, 0, 123) });
  t.match(tree, { Status: 'Signing', LastSign: { Progress: 'Finalizing' }, NextSign: '2026-11-23T10:00:00Z', NextDeploy: '' });
  t.match(tree, { Renewal: { Window: { Start: '', End: '' }, Source: '', ExplanationUrl: '', LastCheck: '', Failures: 0 } }, 'no window for a certificate ACME does not manage');
  const ari = targetTree({ ...base, renewal: { window: { start: Date.UTC(2026, 10, 23), end: Date.UTC(2026, 10, 24), source: 'ARI' }, explanationUrl: 'https://ca.example/x', lastCheck: Date.UTC(2026, 10, 22, 6), failures: 2 } });
  t.same(ari.Renewal, { Window: { Start: '2026-11-23T00:00:00Z', End: '2026-11-24T00:00:00Z' }, Source: 'ARI', ExplanationUrl: 'https://ca.example/x', LastCheck: '2026-11-22T06:00:00Z', Failures: 2 });
  const source = STATUS.find((n) => n.path.join(' ') === 'Security Acme Renewal Source')!;
  t.same(source.type.literals, ['', 'ARI', 'Lifetime']);
  t.equal(iso(undefined), '');
  t.equal(iso(NaN), '');
});
