// GET /metrics on the HTTPS listener: Prometheus text for scrapers that send the configured bearer
// token. Off, the path is not served at all (404 like any unknown path). The token never reaches
// output or logs; it is kept only as a SHA-256 digest and compared in constant time.
import crypto from 'node:crypto';
import type http from 'node:http';
import type {
  AcmeService, AlarmService, CertificateService, ConfigView, SshActivity, TlsService, TrustStore,
} from '../interfaces.js';
import type { Logger } from '../../platform/log.js';
import { collect, type MetricsInputs } from './collect.js';
import { CONTENT_TYPE, render } from './exposition.js';

export const METRICS_PATH = '/metrics';

/** Where the values come from: service interfaces only, never a store. Each read must be cheap. */
export interface MetricsSources {
  readonly certificates: Pick<CertificateService, 'active' | 'domains'>;
  readonly trust: Pick<TrustStore, 'count'>;
  readonly acme?: Pick<AcmeService, 'status'>;
  readonly alarms: Pick<AlarmService, 'list'>;
  readonly ssh: SshActivity;
  /** Resident set size of this process, in bytes. */
  readonly rssBytes: () => number;
  readonly version: string;
}

const digest = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest();
const BEARER = /^Bearer +([^\s]+) *$/i;

export class MetricsEndpoint {
  /** SHA-256 of the configured token; undefined (nothing accepted) while it is empty. */
  private tokenDigest: Buffer | undefined;
  private serving = false;

  constructor(
    private readonly tls: Pick<TlsService, 'setHttpsRoute'>,
    private readonly sources: MetricsSources,
    private readonly logger: Logger,
  ) {}

  /** Follows a configuration (the committed one, or the stored one at boot): Mode and Token. */
  follow(config: ConfigView): void {
    const on = config.value('Metrics Mode') === 'On';
    const token = config.value('Metrics Token');
    this.tokenDigest = token === '' ? undefined : digest(token);
    this.tls.setHttpsRoute(METRICS_PATH, on ? (req, res) => this.serve(req, res) : undefined);
    if (on !== this.serving) this.logger.log({ event: on ? 'metrics.enabled' : 'metrics.disabled', path: METRICS_PATH });
    this.serving = on;
  }

  /** The current metrics, as a scraper sees them. */
  text(): string {
    return render(collect(this.inputs()));
  }

  private inputs(): MetricsInputs {
    const s = this.sources;
    return {
      server: { notAfter: s.certificates.active().info.notAfter },
      domains: s.certificates.domains().map((d) => ({ name: d.name, notAfter: d.certificate?.info.notAfter })),
      acme: s.acme?.status(),
      trustedCas: s.trust.count(),
      alarms: s.alarms.list(),
      ssh: { sessionsOpen: s.ssh.sessionsOpen(), loginsRefused: s.ssh.loginsRefused() },
      rssBytes: s.rssBytes(),
      version: s.version,
    };
  }

  private authorized(header: string | undefined): boolean {
    const m = header === undefined ? null : BEARER.exec(header);
    // Hashing first gives equal lengths, so timingSafeEqual tells nothing about the token's length either.
    return !!m && this.tokenDigest !== undefined && crypto.timingSafeEqual(digest(m[1]!), this.tokenDigest);
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.setHeader('Cache-Control', 'no-store');
    if (!this.authorized(req.headers.authorization)) {
      this.logger.log({ event: 'metrics.refused', level: 'warn', from: `${req.socket.remoteAddress}:${req.socket.remotePort}` });
      // No detail: a missing token and a wrong one look the same.
      res.setHeader('WWW-Authenticate', 'Bearer realm="xway"');
      return send(res, 401, 'text/plain; charset=utf-8', 'Unauthorized\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n');
    }
    send(res, 200, CONTENT_TYPE, this.text());
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
