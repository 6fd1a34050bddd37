// End to end on the daemon's own start(): an uploaded certificate is served only after
// xCommand SystemUnit Boot, and the restart alarm goes with the restart.
import t from 'tap';
import { freePort } from '../helpers/pebble.js';
import net from 'node:net';
import tls from 'node:tls';
import { start, type Running } from '../../src/main.js';
import type { Actor } from '../../src/services/interfaces.js';
import { makeCa, makeLeaf, tmpDir } from '../helpers/pki.js';
import { runSession } from '../helpers/app.js';

const ADMIN: Actor = { user: 'admin', role: 'Admin', remote: '127.0.0.1:1', session: 'boot' };


function served(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'edge.example.com', rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()!.serialNumber.toUpperCase());
      s.destroy();
    });
    s.on('error', reject);
  });
}

const shell = async (r: Running, input: string): Promise<string> => (await runSession(r.app, input, 'shell', ADMIN)).out;

t.test('Server Upload is served after SystemUnit Boot, not before', async (t) => {
  const dir = tmpDir(t);
  const [sshPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  // Standalone: the etcd settings are required by the type and never used.
  const settings = { dataDir: dir, bind: '127.0.0.1', sshPort, httpPort, httpsPort, etcdClientPort: 2379, etcdPeerPort: 2380, etcdBin: 'etcd', adminPassword: 'correct horse battery' };
  let running: Running | undefined;
  let rebooted!: () => void;
  const didReboot = new Promise<void>((r) => (rebooted = r));
  const reboot = async () => {
    const old = running!;
    running = undefined;
    await old.close();
    running = await start(settings, reboot);
    rebooted();
  };
  running = await start(settings, reboot);
  t.teardown(() => running?.close());
  const first = running.app.services.certificates.active();
  t.equal(first.source, 'SelfSigned');
  t.equal(await served(httpsPort), first.info.serial);

  const root = await makeCa({ cn: 'Boot Root' });
  const leaf = await makeLeaf(root);
  const up = await shell(running, `xCommand Security Certificates Server Upload\n${leaf.pem}${leaf.keyPem}.\n`);
  t.match(up, /Status: "RestartRequired"/);
  t.equal(await served(httpsPort), first.info.serial, 'not served before the restart');
  t.match(await shell(running, 'xStatus Alarm\n'), /certificates.restart-required/);

  t.match(await shell(running, 'xCommand SystemUnit Boot\n'), /Restarting/);
  await didReboot;
  t.equal(await served(httpsPort), leaf.x509.serialNumber.toUpperCase(), 'served after the restart');
  const status = await shell(running!, 'xStatus Security Certificates Server\n');
  t.match(status, /Source: "?Uploaded"?/);
  t.match(status, /RestartRequired: "?False"?/);
  t.notMatch(await shell(running!, 'xStatus Alarm\n'), /restart-required/);
});
