// The Pebble harness itself: it starts on free ports, answers its directory over HTTPS trusted
// only through its own CA, serves its issuing root, and leaves no process behind.
import t from 'tap';
import https from 'node:https';
import { startPebble, freePort } from '../helpers/pebble.js';

function status(url: string, ca?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.on('timeout', () => req.destroy());
  });
}

t.test('pebble starts, is trusted only through its CA, and stops', async (t) => {
  const pebble = await startPebble({ httpPort: await freePort() }, (fn) => t.teardown(fn));
  t.equal(await status(pebble.directoryUrl, pebble.httpsCaPem), 200, 'directory answers');
  t.not(await status(pebble.directoryUrl, undefined), 200, 'not trusted by the default roots');
  t.match(await pebble.rootPem(), /-----BEGIN CERTIFICATE-----/, 'issuing root is served');
  const pid = pebble.pid;
  await pebble.stop();
  t.throws(() => process.kill(pid, 0), 'pebble process is gone');
  t.equal(typeof (await status(pebble.directoryUrl, pebble.httpsCaPem)), 'string', 'port closed');
});
