import { literal } from '../../../../schema/types.js';
import { CERTIFICATE_FORMATS } from '../../../../schema/sets.js';
import type { InstalledCertificate } from '../../../../src/services/interfaces.js';
import { defineCommand, param, type CommandContext, type Fields } from '../../../define.js';
import { certFields, pemFile } from '../service.js';

function fields(c: InstalledCertificate, ctx: CommandContext, pemName: string | undefined): Fields {
  const base: Fields = { ...certFields(c.info), Source: c.source, Installed: c.installed, ChainLength: c.chainPem.length };
  return pemName ? { ...base, File: pemFile(ctx, pemName, [c.certPem, ...c.chainPem].map((p) => p.trim()).join('\n')) } : base;
}

export default defineCommand({
  path: ['Security', 'Certificates', 'Server', 'Show'],
  help: 'Show the server certificate in use (and one waiting for a restart), decoded; Format: PEM also writes each with its chain to a file in /tmp (Admin)',
  role: 'ReadOnly',
  params: { Format: param(literal(...CERTIFICATE_FORMATS), 'Decoded (default), or PEM: certificate and chain go to /tmp/xway-server.pem (and /tmp/xway-server-pending.pem)') },
  async run(args, ctx) {
    const certs = ctx.services.certificates;
    const pem = args.Format === 'PEM';
    const pending = certs.pendingRestart();
    return {
      Active: fields(certs.active(), ctx, pem ? 'xway-server.pem' : undefined),
      ...(pending ? { PendingRestart: fields(pending, ctx, pem ? 'xway-server-pending.pem' : undefined) } : {}),
    };
  },
});
