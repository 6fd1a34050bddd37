// Which metrics xway exports, from what the services report. Pure: the inputs are read through
// the service interfaces by the endpoint (endpoint.ts); this module only names and shapes them.
import type { Alarm, StatusTree, StatusValue } from '../interfaces.js';
import {
  ACME_STATUSES, DEPLOY_STATUSES, RENEWAL_SOURCES, SEVERITIES, SIGN_STATUSES, SSH_LOGIN_REFUSALS, type SshLoginRefusal,
} from '../../../schema/sets.js';
import type { Labels, MetricFamily, Sample } from './exposition.js';

export interface MetricsInputs {
  /** The server certificate in use (ISO 8601 notAfter). */
  readonly server: { readonly notAfter: string };
  /** Hosted SNI domains; notAfter absent until a certificate is installed. */
  readonly domains: readonly { readonly name: string; readonly notAfter?: string }[];
  /** `AcmeService.status()` (the `xStatus Security Acme` subtree), absent without the ACME service. */
  readonly acme?: StatusTree;
  readonly trustedCas: number;
  readonly alarms: readonly Pick<Alarm, 'severity'>[];
  readonly ssh: { readonly sessionsOpen: number; readonly loginsRefused: Readonly<Record<SshLoginRefusal, number>> };
  readonly rssBytes: number;
  readonly version: string;
}

/** The server certificate is `{kind="server"}`, a domain's `{kind="domain",domain="<name>"}`. */
const SERVER: Labels = { kind: 'server' };
const domainLabels = (name: string): Labels => ({ kind: 'domain', domain: name });

/** ISO 8601 → Unix seconds; undefined for "" or anything unparsable (no sample then). */
function seconds(iso: StatusValue | undefined): number | undefined {
  if (typeof iso !== 'string' || iso === '') return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

const sub = (t: StatusTree | undefined, k: string): StatusTree | undefined => {
  const v = t?.[k];
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) ? (v as StatusTree) : undefined;
};

/** One sample per word of a closed set, 1 for the current one: `status="Failed"} == 1` alerts. */
function oneHot(labels: Labels, key: string, words: readonly string[], current: StatusValue | undefined): Sample[] {
  return words.map((w) => ({ labels: { ...labels, [key]: w }, value: w === current ? 1 : 0 }));
}

/** The ACME targets: the server (top of the subtree), then each `Domain n` by Name. */
function acmeTargets(acme: StatusTree | undefined): { labels: Labels; tree: StatusTree }[] {
  if (!acme) return [];
  const domains = Array.isArray(acme.Domain) ? (acme.Domain as readonly StatusTree[]) : [];
  return [
    { labels: SERVER, tree: acme },
    ...domains.filter((d) => typeof d.Name === 'string').map((d) => ({ labels: domainLabels(d.Name as string), tree: d })),
  ];
}

function timeSamples(targets: readonly { labels: Labels; tree: StatusTree }[], read: (t: StatusTree) => StatusValue | undefined): Sample[] {
  return targets.flatMap(({ labels, tree }) => {
    const v = seconds(read(tree));
    return v === undefined ? [] : [{ labels, value: v }];
  });
}

export function collect(i: MetricsInputs): MetricFamily[] {
  const acme = acmeTargets(i.acme);
  const notAfter: Sample[] = [{ labels: SERVER, at: i.server.notAfter }, ...i.domains.map((d) => ({ labels: domainLabels(d.name), at: d.notAfter }))]
    .flatMap(({ labels, at }) => {
      const v = seconds(at);
      return v === undefined ? [] : [{ labels, value: v }];
    });
  return [
    {
      name: 'xway_build_info', type: 'gauge', help: 'Always 1; the version label names the running software.',
      samples: [{ labels: { version: i.version }, value: 1 }],
    },
    {
      name: 'xway_certificate_not_after_timestamp_seconds', type: 'gauge',
      help: 'End of validity of the certificate in use (Unix time), for the server and each SNI domain that has one.',
      samples: notAfter,
    },
    {
      name: 'xway_acme_status', type: 'gauge', help: 'ACME state of each target: 1 for its current word (xStatus Security Acme Status), 0 for the others.',
      samples: acme.flatMap(({ labels, tree }) => oneHot(labels, 'status', ACME_STATUSES, tree.Status)),
    },
    {
      name: 'xway_acme_last_sign_status', type: 'gauge', help: 'Outcome of the latest ACME signing of each target: 1 for the current word, 0 for the others.',
      samples: acme.flatMap(({ labels, tree }) => oneHot(labels, 'status', SIGN_STATUSES, sub(tree, 'LastSign')?.Status)),
    },
    {
      name: 'xway_acme_last_sign_timestamp_seconds', type: 'gauge', help: 'When the latest ACME signing of each target started or ended (Unix time); absent before the first.',
      samples: timeSamples(acme, (t) => sub(t, 'LastSign')?.Time),
    },
    {
      name: 'xway_acme_last_deploy_status', type: 'gauge', help: 'Outcome of the latest deploy of each target: 1 for the current word, 0 for the others.',
      samples: acme.flatMap(({ labels, tree }) => oneHot(labels, 'status', DEPLOY_STATUSES, sub(tree, 'LastDeploy')?.Status)),
    },
    {
      name: 'xway_acme_last_deploy_timestamp_seconds', type: 'gauge', help: 'When the latest deploy of each target happened (Unix time); absent before the first.',
      samples: timeSamples(acme, (t) => sub(t, 'LastDeploy')?.Time),
    },
    {
      name: 'xway_acme_next_sign_timestamp_seconds', type: 'gauge', help: 'Next automated signing of each target (Unix time); absent when none is planned.',
      samples: timeSamples(acme, (t) => t.NextSign),
    },
    {
      name: 'xway_acme_renewal_window_start_timestamp_seconds', type: 'gauge',
      help: 'Start of the renewal window of the certificate in use (Unix time): the CA\'s (ARI) or two thirds of its lifetime; absent when ACME does not manage it.',
      samples: timeSamples(acme, (t) => sub(sub(t, 'Renewal'), 'Window')?.Start),
    },
    {
      name: 'xway_acme_renewal_window_end_timestamp_seconds', type: 'gauge',
      help: 'End of the renewal window of the certificate in use (Unix time): past it, renewal is signed and deployed at once; absent when ACME does not manage it.',
      samples: timeSamples(acme, (t) => sub(sub(t, 'Renewal'), 'Window')?.End),
    },
    {
      name: 'xway_acme_renewal_source', type: 'gauge',
      help: 'Where the renewal window of each target comes from: 1 for ARI (the CA\'s renewal information) or Lifetime, 0 for the other; both 0 without a window.',
      samples: acme.flatMap(({ labels, tree }) => oneHot(labels, 'source', RENEWAL_SOURCES, sub(tree, 'Renewal')?.Source)),
    },
    {
      name: 'xway_acme_consecutive_failures', type: 'gauge',
      help: 'Consecutive failed signing attempts of each target; 0 after a success.',
      samples: acme.flatMap(({ labels, tree }) => {
        const n = sub(tree, 'Renewal')?.Failures;
        return typeof n === 'number' ? [{ labels, value: n }] : [];
      }),
    },
    {
      name: 'xway_acme_ari_last_check_timestamp_seconds', type: 'gauge',
      help: 'When the CA\'s renewal information (ARI) for the certificate in use was last asked for (Unix time); absent when never.',
      samples: timeSamples(acme, (t) => sub(t, 'Renewal')?.LastCheck),
    },
    {
      name: 'xway_trusted_cas', type: 'gauge', help: 'Certificates in the trust store.',
      samples: [{ value: i.trustedCas }],
    },
    {
      name: 'xway_alarms_active', type: 'gauge', help: 'Active alarms (xStatus Alarm) by severity.',
      samples: SEVERITIES.map((s) => ({ labels: { severity: s }, value: i.alarms.filter((a) => a.severity === s).length })),
    },
    {
      name: 'xway_ssh_sessions_open', type: 'gauge', help: 'Authenticated SSH connections open now.',
      samples: [{ value: i.ssh.sessionsOpen }],
    },
    {
      name: 'xway_ssh_logins_refused_total', type: 'counter',
      help: 'SSH logins refused since the daemon started: wrong credentials, login limits (lockout, too many unauthenticated connections), or a refused algorithm.',
      samples: SSH_LOGIN_REFUSALS.map((r) => ({ labels: { reason: r }, value: i.ssh.loginsRefused[r] })),
    },
    {
      name: 'xway_process_resident_memory_bytes', type: 'gauge', help: 'Resident set size of the daemon process.',
      samples: [{ value: i.rssBytes }],
    },
  ];
}
