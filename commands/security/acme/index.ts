// The ACME commands, for commands/index.ts.
import type { CommandDef } from '../../define.js';
import acceptTerms from './acceptterms.js';
import sign from './sign.js';
import pendingShow from './pending/show.js';
import pendingDiscard from './pending/discard.js';
import deploy from './deploy.js';
import rollback from './rollback.js';
import acmerevoke from '../../acmerevoke.js';
import externalAccountSet from './externalaccount/set.js';
import dnsTest from './dns/test.js';

export const ACME_COMMANDS: readonly CommandDef[] = [acceptTerms, externalAccountSet, sign, pendingShow, pendingDiscard, deploy, rollback, acmerevoke, dnsTest];
