// Builds the certificate services and the web listeners from the app's parts, so app.ts wires
// them in a few lines:
//   const c = buildCertificateServices({ paths, clock, logger, alarms, status, config });
//   services = { ...services, trust: c.trust, certificates: c.certificates, tls: c.web };
//   status.provide('Security', () => ({ Certificates: c.status(), Acme: ... }));
//   main.ts: await c.web.listenHttps(httpsPort, bind); await c.web.listenHttp(httpPort, bind); ... c.close()
import os from 'node:os';
import type { AlarmService, ConfigService, StatusService, StatusTree } from '../interfaces.js';
import type { DataPaths } from '../../platform/paths.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { FileTrustStore } from '../trust/store.js';
import { WebListeners } from '../tls/listener.js';
import { FileCertificateService } from './service.js';
import { certificatesStatus } from './status.js';
import { httpOwner } from '../tls/owner.js';

export interface CertificateWiringDeps {
  readonly paths: DataPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly alarms: AlarmService;
  readonly status: StatusService;
  readonly config: Pick<ConfigService, 'value' | 'own'>;
  /** The HTTPS port named in HTTP redirects, when it differs from the bound one (e.g. behind NAT). */
  readonly publicHttpsPort?: number;
}

export interface CertificateServices {
  readonly trust: FileTrustStore;
  readonly certificates: FileCertificateService;
  readonly web: WebListeners;
  /** The `Security Certificates` subtree. */
  status(): StatusTree;
  /** Stops timers and listeners. */
  close(): Promise<void>;
}

export function buildCertificateServices(deps: CertificateWiringDeps): CertificateServices {
  const { paths, clock, logger, alarms, status, config } = deps;
  const changed = (p: readonly string[]) => status.changed(p);
  const trust = new FileTrustStore({ dir: paths.trust, clock, logger });
  trust.onChange(() => changed(['Security', 'Certificates', 'TrustedCA']));
  const certificates = FileCertificateService.openSync({
    dir: paths.certs, clock, logger, alarms, trust, changed,
    systemName: () => config.value('SystemUnit Name') || os.hostname(),
  });
  trust.onChange(() => certificates.refreshAlarms());
  const material = certificates.listenerMaterial();
  const web = new WebListeners({
    server: material.server,
    domains: material.domains,
    logger,
    redirect: config.value('Http Redirect Mode') === 'On',
    publicHttpsPort: deps.publicHttpsPort,
  });
  certificates.attach(web);
  const off = config.own(httpOwner(web));
  certificates.start();
  return {
    trust, certificates, web,
    status: () => certificatesStatus(certificates, trust, clock.now()),
    async close() {
      off();
      certificates.stop();
      await web.close();
    },
  };
}
