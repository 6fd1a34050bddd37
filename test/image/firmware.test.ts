// The appliance image, end to end: build the Debian package, install it into a fresh Debian
// bookworm root file system, start the daemon there as xway.service would (its user,
// environment, command line, capabilities, umask, read-only system; chroot + setpriv), log in
// over SSH from outside, check the version, survive a restart, refuse a damaged data directory,
// upgrade to a rebuilt package and check the configuration survived, remove/reinstall/purge;
// then boot a fresh root with systemd (systemd-nspawn) and check the real unit's sandbox, an
// ACME order under it, restart on crash, reboot and an upgrade in place.
//
// Needs root (chroot, mounts), mmdebstrap or debootstrap, dpkg-deb, sshpass, openssh-client,
// systemd (systemd-analyze), and for the last part systemd-container and pebble. Skips only when
// not root, or when the root file system is not cached and the Debian mirror cannot be reached.
// The root file system tarball is cached in build/rootfs/; figures go to
// build/firmware-test/figures.json.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../schema/migrations.js';
import { startPebble } from '../helpers/pebble.js';
import {
  REPO, UNIT_FILE, RootFs, buildPackage, commandExists, debianMirror, freePort, freePrivilegedPorts, hostKeyFingerprints,
  mirrorReachable, parseUnit, removeStaleRuns, rootfsTarball, run, servedCertificate, sha256File, sshIdent, sshRun, unitCommand,
  type BuildResult, type Daemon, type UnitCommand,
} from '../helpers/firmware.js';
import { ADDRESSES } from '../helpers/etcd.js';
import { freePortOn } from '../../bench/ports.js';

const PKG_VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const TOOLS = ['dpkg-deb', 'unshare', 'chroot', 'mount', 'tar', 'sshpass', 'ssh', 'ssh-keyscan', 'ssh-keygen', 'systemd-analyze', 'git'];
const WORK = path.join(REPO, 'build', 'firmware-test');
const figures: Record<string, number | string> = {};

/** The output of a command, for an assertion's message, only when it failed. */
function said(r: { code: number | null; stdout: string; stderr: string }, ok?: RegExp): string {
  const fine = ok ? ok.test(r.stdout) : r.code === 0;
  return fine ? '' : ` (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function main(): Promise<void> {
  // About 1–2 minutes here (more the first time, when the root file system is built); beside
  // stress-ng and parallel builds it took over ten, so the runner waits up to 30 minutes.
  t.setTimeout(1_800_000);
  if (process.getuid?.() !== 0) {
    t.plan(0, 'firmware image test needs root (chroot, mounts, dpkg inside a root file system)');
    return;
  }
  const missing = TOOLS.filter((c) => !commandExists(c));
  if (!commandExists('mmdebstrap') && !commandExists('debootstrap')) missing.push('mmdebstrap');
  if (missing.length > 0) {
    t.fail(`missing tools: ${missing.join(', ')} (apt-get install mmdebstrap dpkg sshpass openssh-client systemd git)`);
    return;
  }
  if (!fs.existsSync(path.join(REPO, 'dist', 'src', 'main.js'))) {
    t.fail('dist/src/main.js is missing: run npm run build first (npm test does)');
    return;
  }

  // 1. The root file system (cached), or a skip if Debian's mirror is out of reach.
  const rf = rootfsTarball();
  if (rf.code !== 0) {
    const mirror = debianMirror();
    if (!(await mirrorReachable(mirror))) {
      t.plan(0, `the Debian mirror ${mirror} cannot be reached and no root file system is cached in build/rootfs/`);
      return;
    }
    t.fail(`firmware/rootfs.sh failed although ${mirror} answers:\n${rf.stderr}`);
    return;
  }
  if (/built /.test(rf.stderr)) figures.rootfsBuildMs = rf.ms;

  fs.mkdirSync(WORK, { recursive: true });
  for (const d of removeStaleRuns(WORK)) t.comment(`removed the leftovers of an earlier run: ${d}`);
  const work = fs.mkdtempSync(path.join(WORK, `run.${process.pid}.`));
  let root: (RootFs & { extractMs: number }) | undefined;
  t.teardown(async () => {
    await root?.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  });

  // 2. The package.
  let first: BuildResult | undefined;
  await t.test('npm run firmware builds a Debian package with a stamped version', async (t) => {
    first = buildPackage(path.join(work, 'pkg1'), 1);
    figures.packageBytes = first.bytes;
    figures.installedKiB = first.installedKiB;
    figures.buildMs = first.buildMs;
    figures.compress = first.compress;
    // The stamp inside the package names a real commit, and says .dirty when the tree was
    // (the tree is shared and HEAD moves, so it is checked against itself, not against HEAD now).
    const stamp = JSON.parse(run('sh', ['-c', `dpkg-deb --fsys-tarfile "$0" | tar -xO ./opt/xway/app/version.json`, first.deb]).stdout) as
      { version: string; releaseDate: string; commit: string; dirty: boolean };
    t.equal(run('git', ['cat-file', '-e', `${stamp.commit}^{commit}`]).code, 0, `the stamp names a commit of this repository (${stamp.commit})`);
    t.equal(stamp.version, `${PKG_VERSION}+g${stamp.commit.slice(0, 10)}${stamp.dirty ? '.dirty' : ''}`, 'version = package.json version + commit (+ .dirty)');
    t.equal(first.version, stamp.version, 'build.json agrees with version.json');
    t.match(stamp.releaseDate, /^\d{4}-\d{2}-\d{2}$/, 'release date');
    t.match(first.debVersion, new RegExp(`^${escapeRe(PKG_VERSION)}\\+\\d+\\.g${stamp.commit.slice(0, 10)}${stamp.dirty ? '\\.dirty' : ''}-1$`), 'Debian version orders by commit count');
    t.ok(fs.existsSync(first.deb), 'the .deb exists');
    const info = run('dpkg-deb', ['-f', first.deb, 'Package', 'Version', 'Depends', 'Architecture']);
    t.match(info.stdout, /Package: xway\n/);
    t.match(info.stdout, new RegExp(`Version: ${escapeRe(first.debVersion)}\n`));
    t.match(info.stdout, /Depends: adduser, etcd-server, .*libc6 \(>= [\d.]+\).*libstdc\+\+6 \(>= [\d.]+\)/, 'depends on Debian\'s etcd and the C/C++ runtime versions node and the addons need');
    const list = run('dpkg-deb', ['-c', first.deb]).stdout;
    t.match(list, /\.\/opt\/xway\/node\/bin\/node\n/, 'ships its node runtime');
    t.match(list, /\.\/opt\/xway\/app\/dist\/src\/main\.js\n/, 'ships the compiled daemon');
    t.match(list, /\.\/opt\/xway\/app\/version\.json\n/, 'ships the version stamp');
    t.match(list, /better_sqlite3\.node\n/, 'ships the native SQLite binding');
    t.match(list, /\.\/lib\/systemd\/system\/xway\.service\n/, 'ships the unit');
    for (const dev of ['typescript', 'tap', 'fast-check', 'node-pty', 'jsxapi', '@types']) {
      t.notMatch(list, new RegExp(`/node_modules/${escapeRe(dev)}/`), `no development dependency ${dev}`);
    }
    t.notMatch(list, /\.ts\n|\.map\n/, 'no TypeScript sources or source maps');
  });
  if (!first) return;

  // 3. Install into a fresh Debian root.
  root = RootFs.extract(rf.tarball, work);
  figures.rootfsExtractMs = root.extractMs;
  const R = root;
  let cmd: UnitCommand | undefined;
  const ports = { ssh: await freePort(), http: await freePort(), https: await freePort() };

  await t.test('the package installs into Debian bookworm: user, data directory, unit', async (t) => {
    const inst = R.install(first!.deb);
    figures.installMs = inst.ms;
    t.equal(inst.code, 0, 'dpkg -i succeeds' + said(inst));
    const pw = R.exec(['getent', 'passwd', 'xway']).stdout.trim().split(':');
    t.equal(pw[0], 'xway', 'system user xway exists');
    t.ok(Number(pw[2]) < 1000, 'it is a system user (uid < 1000)');
    t.equal(pw[6], '/usr/sbin/nologin', 'it cannot log in');
    const st = fs.statSync(R.p('/var/lib/xway'));
    t.equal(st.mode & 0o7777, 0o700, 'data directory is 0700');
    t.equal(st.uid, Number(pw[2]), 'data directory belongs to xway');
    t.equal(fs.readFileSync(R.p('/lib/systemd/system/xway.service'), 'utf8'), fs.readFileSync(UNIT_FILE, 'utf8'), 'the unit is the one in firmware/');
    t.ok(fs.lstatSync(R.p('/etc/systemd/system/multi-user.target.wants/xway.service')).isSymbolicLink(), 'the unit is enabled at boot');
    // Debian's etcd.service would start a default etcd on 2379/2380 at boot: etcd-server's own
    // postinst enabled it (in the cached root), xway's disables and masks it.
    t.ok(fs.existsSync(R.p('/usr/bin/etcd')), 'etcd (etcd-server) is there for the appliance\'s member');
    t.notOk(fs.existsSync(R.p('/etc/systemd/system/multi-user.target.wants/etcd.service')), 'Debian\'s etcd.service is disabled');
    t.equal(fs.readlinkSync(R.p('/etc/systemd/system/etcd.service')), '/dev/null', 'and masked');
    t.equal(sha256File(R.p('/opt/xway/node/bin/node')), sha256File(process.execPath), 'the runtime is the node binary the tests run with');
    const v = R.exec(['/opt/xway/node/bin/node', '-p', 'process.versions.modules']);
    t.equal(v.stdout.trim(), process.versions.modules, `same native module ABI ${v.stderr}`);
    const verify = run('systemd-analyze', ['verify', `--root=${R.dir}`, 'xway.service']);
    t.equal(verify.code, 0, 'systemd-analyze verify passes');
    t.equal(verify.stderr.trim(), '', `systemd-analyze verify has no warnings: ${verify.stderr}`);
    // The test's listeners: loopback, free ports, through the file the unit reads.
    fs.appendFileSync(R.p('/etc/default/xway'),
      `\n# firmware test\nXWAY_BIND=127.0.0.1\nXWAY_SSH_PORT=${ports.ssh}\nXWAY_HTTP_PORT=${ports.http}\nXWAY_HTTPS_PORT=${ports.https}\n`);
    cmd = unitCommand(parseUnit(fs.readFileSync(R.p('/lib/systemd/system/xway.service'), 'utf8')), R.dir);
    t.same(cmd.argv, ['/opt/xway/node/bin/node', '--max-semi-space-size=2', '/opt/xway/app/dist/src/main.js'], 'ExecStart');
    t.equal(cmd.env.XWAY_SSH_PORT, String(ports.ssh), '/etc/default/xway overrides the unit defaults');
  });
  if (!cmd) return;

  // 4. First boot.
  let password = '';
  let keys: string[] = [];
  const version = first.version;
  await t.test('first boot: host keys, admin password kept 0600 and never printed, SSH login, version', async (t) => {
    const d = R.start(cmd!);
    try {
      const up = await d.waitForSsh(ports.ssh);
      figures.firstBootToSshMs = up.ms;
      const pwFile = R.p('/var/lib/xway/admin-password');
      t.ok(fs.existsSync(pwFile), 'admin-password file written');
      const st = fs.statSync(pwFile);
      t.equal(st.mode & 0o777, 0o600, 'admin-password is 0600');
      t.equal(st.uid, fs.statSync(R.p('/var/lib/xway')).uid, 'owned by xway');
      password = fs.readFileSync(pwFile, 'utf8').trim();
      t.ok(password.length >= 12, 'a generated password');
      t.notOk(d.stderr.includes(password), 'the password is never printed on the console (journal)');
      t.match(d.stderr, /admin password is in \S*\/var\/lib\/xway\/admin-password /, 'the console says where it is');
      keys = hostKeyFingerprints(ports.ssh);
      t.ok(keys.length >= 2, `host keys offered: ${keys.join(' ')}`);
      const st1 = sshRun(ports.ssh, password, 'xStatus SystemUnit');
      t.equal(st1.code, 0, `ssh xStatus SystemUnit succeeds: ${st1.stderr}`);
      t.match(st1.stdout, new RegExp(`Version: "?${escapeRe(version)}"?`), 'xStatus SystemUnit Software Version is the stamp');
      t.match(st1.stdout, /Product: "?xway"?/);
      const shell = run('sshpass', ['-e', 'ssh', '-tt', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'LogLevel=ERROR', '-p', String(ports.ssh), 'admin@127.0.0.1'], { env: { ...process.env, SSHPASS: password }, input: 'bye\r', timeoutMs: 30_000 });
      t.match(shell.stdout, new RegExp(`xway version ${escapeRe(version)}`), 'the login banner shows the version');
      const cert = sshRun(ports.ssh, password, 'xStatus Security Certificates Server');
      t.match(cert.stdout, /Source: "?SelfSigned"?/, 'first boot made a self-signed server certificate' + said(cert, /Source:/));
      const served = await servedCertificate(ports.https, 'localhost');
      t.ok(served?.fingerprint256, `the HTTPS listener answers on ${ports.https} (from /etc/default/xway)`);
      t.match(cert.stdout, new RegExp(escapeRe(served?.fingerprint256?.toUpperCase() ?? 'no certificate')), 'and presents the certificate xStatus reports');
      const set = sshRun(ports.ssh, password, 'xConfiguration SystemUnit Name: "fw-survivor"');
      t.equal(set.code, 0, 'configuration change accepted' + said(set));
      // Everything the daemon wrote stays inside the data directory and private to its user.
      // Public keys and certificates may be world-readable (0644); nothing secret may be.
      const open = run('find', [R.p('/var/lib/xway'), '-type', 'f', '-perm', '/007']).stdout.split('\n').filter((f) => f !== '');
      const secret = open.filter((f) => /PRIVATE KEY|HmacKey|hmac/i.test(fs.readFileSync(f, 'latin1')) || /^(xway\.db.*|admin-password)$/.test(path.basename(f)));
      t.same(secret, [], `nothing secret in the data directory is readable by other users (open: ${open.map((f) => path.basename(f)).join(', ') || 'none'})`);
      const notOwned = run('find', [R.p('/var/lib/xway'), '!', '-uid', String(st.uid)]).stdout.trim();
      t.equal(notOwned, '', 'everything in the data directory belongs to xway');
    } finally {
      t.equal(await d.stop(), 0, 'SIGTERM stops the daemon cleanly');
    }
  });
  if (!password) return;

  await t.test('second boot reuses host keys and password; the password is not shown again', async (t) => {
    const d = R.start(cmd!);
    try {
      const up = await d.waitForSsh(ports.ssh);
      figures.secondBootToSshMs = up.ms;
      t.same(hostKeyFingerprints(ports.ssh), keys, 'same host keys');
      t.notOk(d.stderr.includes(password), 'the password is not printed again');
      const r = sshRun(ports.ssh, password, 'xConfiguration SystemUnit Name');
      t.equal(r.code, 0, 'same password logs in');
      t.match(r.stdout, /fw-survivor/, 'configuration kept');
    } finally {
      t.equal(await d.stop(), 0, 'stops cleanly');
    }
  });

  // A damaged data directory: each case is made, the daemon started, the damage undone.
  const damages: { name: string; file: string; names: RegExp; damage(file: string): void }[] = [
    { name: 'a truncated database', file: '/var/lib/xway/xway.db', names: /xway\.db/, damage: (f) => fs.truncateSync(f, 1000) },
    { name: 'an empty database', file: '/var/lib/xway/xway.db', names: /xway\.db/, damage: (f) => fs.truncateSync(f, 0) },
    { name: 'a database of garbage', file: '/var/lib/xway/xway.db', names: /xway\.db/, damage: (f) => fs.writeFileSync(f, Buffer.alloc(8192, 0x5a)) },
    { name: 'a database the daemon may not read (restored as root)', file: '/var/lib/xway/xway.db', names: /xway\.db/, damage: (f) => fs.chownSync(f, 0, 0) },
    { name: 'a database from a newer release (a downgrade)', file: '/var/lib/xway/xway.db', names: /xway\.db.*newer/, damage: (f) => {
      const db = new Database(f);
      db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
      db.close(); // the last connection: checkpoints and removes the WAL
    } },
    { name: 'a truncated SSH host key', file: '/var/lib/xway/ssh/ssh_host_ed25519_key', names: /ssh_host_ed25519_key/, damage: (f) => fs.truncateSync(f, 50) },
  ];
  for (const dmg of damages) {
    await t.test(`${dmg.name}: the daemon says what is wrong and refuses to start, changing nothing`, async (t) => {
      const file = R.p(dmg.file);
      const db = R.p('/var/lib/xway/xway.db');
      const saved = fs.readFileSync(file);
      const owner = fs.statSync(file);
      t.equal(fs.existsSync(db + '-wal'), false, 'a clean stop leaves no WAL behind');
      try {
        dmg.damage(file);
        const before = sha256File(file);
        const listing = run('find', [R.p('/var/lib/xway'), '-printf', '%P %s %m %U\n']).stdout;
        const d = R.start(cmd!);
        const code = await d.waitExit(30_000);
        if (code === undefined) await d.stop();
        const said = d.stderr.trim().split('\n').pop() ?? '';
        t.not(code, undefined, 'the daemon does not keep running');
        t.not(code, 0, `it exits with an error (${code})`);
        t.equal(code, 78, 'with EX_CONFIG (78), which the unit does not restart (RestartPreventExitStatus)');
        t.match(said, dmg.names, `it names the file: ${said}`);
        t.equal(sha256File(file), before, 'the damaged file is left as it was (no silent reset)');
        // SQLite may create an empty WAL and its index when it opens the file; nothing else may appear.
        const after = run('find', [R.p('/var/lib/xway'), '-printf', '%P %s %m %U\n']).stdout.split('\n')
          .filter((l) => !/^xway\.db-wal 0 /.test(l) && !/^xway\.db-shm /.test(l)).join('\n');
        t.equal(after, listing, 'nothing else in the data directory changed');
        t.notOk(d.stderr.includes('first boot'), 'no first-boot initialisation over the old data');
      } finally {
        fs.writeFileSync(file, saved);
        fs.chownSync(file, owner.uid, owner.gid);
        for (const f of [db + '-wal', db + '-shm']) fs.rmSync(f, { force: true });
      }
    });
  }

  // 5. Upgrade to a rebuilt package.
  let rebuilt: BuildResult | undefined;
  await t.test('upgrade to a rebuilt package keeps the data and the configuration', async (t) => {
    const second = buildPackage(path.join(work, 'pkg2'), 2);
    rebuilt = second;
    figures.rebuildMs = second.buildMs;
    t.not(second.debVersion, first!.debVersion, 'a newer Debian revision');
    const dataBefore = run('find', [R.p('/var/lib/xway'), '-type', 'f', '-printf', '%P\n']).stdout.split('\n').sort();
    // Something else holds the configured SSH port during the upgrade: the package says so.
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(ports.ssh, '127.0.0.1', resolve));
    let up;
    try {
      up = R.install(second.deb);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    figures.upgradeMs = up.ms;
    t.equal(up.code, 0, 'dpkg -i (upgrade) succeeds' + said(up));
    t.match(up.stderr, new RegExp(`port ${ports.ssh} is already in use`), 'postinst warns that the SSH port is taken');
    const saved = /database saved in (\/var\/backups\/xway\/\S+)/.exec(up.stdout);
    t.ok(saved, 'the old database is saved before the upgrade');
    if (saved) {
      const dir = R.p(saved[1]!);
      t.equal(fs.statSync(R.p('/var/backups/xway')).mode & 0o777, 0o700, 'the backups are private to root');
      const db = new Database(path.join(dir, 'xway.db'), { readonly: true, fileMustExist: true });
      try {
        t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'the saved database is intact');
        const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
        const text = tables.map((n) => JSON.stringify(db.prepare(`SELECT * FROM "${n.replace(/"/g, '""')}"`).all())).join('\n');
        t.match(text, /fw-survivor/, 'and holds the configuration as it was');
      } finally {
        db.close();
      }
    }
    const q = R.exec(['dpkg-query', '-W', '-f', '${Version}', 'xway']);
    t.equal(q.stdout, second.debVersion, 'the new package is installed');
    t.match(fs.readFileSync(R.p('/etc/default/xway'), 'utf8'), new RegExp(`XWAY_SSH_PORT=${ports.ssh}`), 'the admin\'s /etc/default/xway is kept');
    const dataAfter = run('find', [R.p('/var/lib/xway'), '-type', 'f', '-printf', '%P\n']).stdout.split('\n').sort();
    t.same(dataAfter, dataBefore, 'the data directory is untouched by the upgrade');
    const d = R.start(cmd!);
    try {
      await d.waitForSsh(ports.ssh);
      t.same(hostKeyFingerprints(ports.ssh), keys, 'same host keys after the upgrade');
      const r = sshRun(ports.ssh, password, 'xConfiguration SystemUnit Name');
      t.equal(r.code, 0, 'same password after the upgrade');
      const db = new Database(R.p('/var/lib/xway/xway.db'), { readonly: true });
      try {
        t.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length, 'the schema is at the version of the new software');
      } finally {
        db.close();
      }
      t.match(r.stdout, /fw-survivor/, 'configuration survived the upgrade');
      const s = sshRun(ports.ssh, password, 'xStatus SystemUnit Software Version');
      t.match(s.stdout, new RegExp(escapeRe(second.version)), 'version after the upgrade');
    } finally {
      t.equal(await d.stop(), 0, 'stops cleanly');
    }
  });

  await t.test('remove keeps the data (a reinstall finds the appliance as it was); purge deletes it', async (t) => {
    if (!rebuilt) return t.fail('no rebuilt package');
    const rm = R.exec(['dpkg', '--remove', 'xway']);
    t.equal(rm.code, 0, 'dpkg --remove' + said(rm));
    t.notOk(fs.existsSync(R.p('/opt/xway')), 'the program is gone');
    t.ok(fs.existsSync(R.p('/var/lib/xway/xway.db')), 'the data directory stays');
    t.equal(R.exec(['getent', 'passwd', 'xway']).code, 0, 'the user stays');
    const again = R.install(rebuilt.deb);
    t.equal(again.code, 0, 'reinstall' + said(again));
    t.ok(fs.lstatSync(R.p('/etc/systemd/system/multi-user.target.wants/xway.service')).isSymbolicLink(), 'enabled again');
    const d = R.start(cmd!);
    try {
      await d.waitForSsh(ports.ssh);
      const r = sshRun(ports.ssh, password, 'xConfiguration SystemUnit Name');
      t.match(r.stdout, /fw-survivor/, 'same password and configuration after remove and reinstall');
    } finally {
      t.equal(await d.stop(), 0, 'stops cleanly');
    }
    const purge = R.exec(['dpkg', '--purge', 'xway']);
    t.equal(purge.code, 0, 'dpkg --purge' + said(purge));
    t.notOk(fs.existsSync(R.p('/var/lib/xway')), 'purge deletes the data directory');
    t.notOk(fs.existsSync(R.p('/var/backups/xway')), 'and the upgrade copies');
    t.notOk(fs.existsSync(R.p('/etc/default/xway')), 'and the settings');
    t.equal(R.exec(['getent', 'passwd', 'xway']).code, 0, 'the user stays (its uid is not reused)');
    t.notOk(fs.existsSync(R.p('/etc/systemd/system/etcd.service')), 'purge unmasks etcd.service, which xway masked');
    t.notOk(fs.existsSync(R.p('/etc/systemd/system/multi-user.target.wants/etcd.service')), 'and leaves it disabled');
    t.notOk(fs.existsSync(R.p('/var/lib/xway-package')), 'its marker is gone');
    // An admin's own mask is the admin's: a later purge leaves it.
    fs.symlinkSync('/dev/null', R.p('/etc/systemd/system/etcd.service'));
    const again2 = R.install(rebuilt.deb);
    t.equal(again2.code, 0, 'install over an admin\'s mask' + said(again2));
    t.notOk(fs.existsSync(R.p('/var/lib/xway-package')), 'the mask is not marked as xway\'s');
    const purge2 = R.exec(['dpkg', '--purge', 'xway']);
    t.equal(purge2.code, 0, 'dpkg --purge' + said(purge2));
    t.equal(fs.readlinkSync(R.p('/etc/systemd/system/etcd.service')), '/dev/null', 'purge keeps the admin\'s mask');
  });

  // 6. The real thing: systemd boots a fresh root and starts xway.service with all its sandboxing.
  await t.test('under systemd (systemd-nspawn): least privilege for real, privileged ports, journal, ACME, restart on failure, upgrade in place, damaged database', async (t) => {
    if (!commandExists('systemd-nspawn')) {
      t.plan(0, 'systemd-nspawn is not installed (apt-get install systemd-container)');
      return;
    }
    const box = RootFs.extract(rf.tarball, work);
    try {
      const inst = box.install(first!.deb);
      t.equal(inst.code, 0, `fresh install: ${inst.stderr}`);
      const [sshP, httpP, httpsP] = await freePrivilegedPorts(3);
      fs.appendFileSync(box.p('/etc/default/xway'),
        `\n# firmware test\nXWAY_BIND=127.0.0.1\nXWAY_SSH_PORT=${sshP}\nXWAY_HTTP_PORT=${httpP}\nXWAY_HTTPS_PORT=${httpsP}\n`);
      const argv = ['/opt/xway/node/bin/node', '--max-semi-space-size=2', '/opt/xway/app/dist/src/main.js'];
      const uid = fs.statSync(box.p('/var/lib/xway')).uid;

      const boot1 = box.boot();
      let keys1: string[] = [];
      try {
        const up = await boot1.waitForSsh(sshP, 120_000).catch((e: Error) => {
          throw new Error(`${e.message}\njournal:\n${box.journal('xway.service')}\nnspawn:\n${boot1.stderr}`);
        });
        figures.systemdBootToSshMs = up.ms;
        const pids = RootFs.pidsUnder(boot1.child.pid!, argv);
        t.equal(pids.length, 1, 'one daemon process');
        const pid = pids[0]!;
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
        t.equal(field('Uid').split(/\s+/)[0], String(uid), 'runs as xway');
        const netBind = (1n << 10n).toString(16).padStart(16, '0'); // CAP_NET_BIND_SERVICE
        for (const c of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb']) t.equal(field(c), netBind, `${c}: CAP_NET_BIND_SERVICE only`);
        t.equal(field('NoNewPrivs'), '1', 'no new privileges');
        t.equal(field('Seccomp'), '2', 'a system-call filter is on');
        const mounts = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' '));
        const mountAt = (m: string) => mounts.filter((f) => f[4] === m).pop();
        t.match(mountAt('/')?.[5] ?? '', /(^|,)ro(,|$)/, 'the system is read-only to it');
        t.match(mountAt('/var/lib/xway')?.[5] ?? '', /(^|,)rw(,|$)/, 'the data directory is writable');
        t.ok(mountAt('/tmp'), 'it has a private /tmp');
        t.ok(sshP! < 1024 && httpP! < 1024 && httpsP! < 1024, `it listens on privileged ports ${sshP}, ${httpP}, ${httpsP}`);

        const password = fs.readFileSync(box.p('/var/lib/xway/admin-password'), 'utf8').trim();
        const st = sshRun(sshP!, password, 'xStatus SystemUnit');
        t.equal(st.code, 0, 'SSH login with the generated password');
        t.match(st.stdout, new RegExp(`Version: "?${escapeRe(first!.version)}"?`), 'the stamped version');
        keys1 = hostKeyFingerprints(sshP!);
        const journal = box.journal('xway.service');
        t.equal(journal.split(password).length - 1, 0, 'the journal never shows the admin password');
        t.match(journal, /the generated admin password is in \/var\/lib\/xway\/admin-password/, 'the journal says where it is');
        t.match(journal, /"event":"daemon\.listening"/, 'the daemon logs JSON lines to the journal');

        // The product's outbound path under the sandbox: an ACME order against Pebble (on the
        // host; its validator reaches the container's HTTP listener on a privileged port).
        if (commandExists('pebble')) {
          const t0 = Date.now();
          const pebble = await startPebble({ httpPort: httpP! });
          try {
            const ca = sshRun(sshP!, password, 'xCommand Security Certificates CA Add', { input: pebble.httpsCaPem + '.\n' });
            t.match(ca.stdout, /status=OK/, 'Pebble\'s HTTPS CA trusted' + said(ca, /status=OK/));
            const order = sshRun(sshP!, password, [
              `xConfiguration Security Acme DirectoryUrl: "${pebble.directoryUrl}"`,
              'xConfiguration Security Acme Provider: Custom',
              'xConfiguration Security Acme AdminEmail: "admin@example.com"',
              'xCommand Security Acme AcceptTerms Agree: True',
              'xCommand Security Certificates CSR Create CommonName: box.example.com KeyType: ECDSA-P256',
              'xCommand Security Acme Sign Wait: True',
              'xCommand Security Acme Deploy',
            ].join('\n'));
            t.equal(order.code, 0, 'ACME sign and deploy inside the sandbox' + said(order) + (order.code === 0 ? '' : `\npebble: ${pebble.output().slice(-1500)}`));
            const acmeCert = await servedCertificate(httpsP!, 'box.example.com');
            t.match(acmeCert?.issuer?.CN ?? '', /Pebble Intermediate CA/, 'the HTTPS listener (port below 1024) presents the ACME certificate');
            figures.systemdAcmeMs = Date.now() - t0;
          } finally {
            await pebble.stop();
          }
        } else {
          t.comment('pebble is not installed: the ACME order under the sandbox is not tried');
        }

        // Restart=on-failure: a crash brings it back.
        process.kill(pid, 'SIGKILL');
        const killedAt = Date.now();
        let again: number[] = [];
        for (let i = 0; i < 300 && Date.now() - killedAt < 30_000; i++) {
          await new Promise((r) => setTimeout(r, 100));
          again = RootFs.pidsUnder(boot1.child.pid!, argv).filter((p) => p !== pid);
          if (again.length > 0 && (await sshIdent(sshP!, 1000))?.startsWith('SSH-')) break;
        }
        t.equal(again.length, 1, 'systemd started it again after it was killed');
        figures.systemdRestartMs = Date.now() - killedAt;
        t.equal(sshRun(sshP!, password, 'xStatus SystemUnit Uptime').code, 0, 'and it answers');
      } finally {
        t.equal(await boot1.stop(60_000), 0, 'the container powers off cleanly (xway stops with it)');
      }

      const boot2 = box.boot();
      try {
        const up = await boot2.waitForSsh(sshP!, 120_000);
        figures.systemdRebootToSshMs = up.ms;
        t.same(hostKeyFingerprints(sshP!), keys1, 'after a reboot: same host keys');
        if (figures.systemdAcmeMs !== undefined) {
          const again = await servedCertificate(httpsP!, 'box.example.com');
          t.match(again?.issuer?.CN ?? '', /Pebble Intermediate CA/, 'and the deployed ACME certificate');
        }
        const password = fs.readFileSync(box.p('/var/lib/xway/admin-password'), 'utf8').trim();
        t.equal(box.journal('xway.service').split(password).length - 1, 0, 'the password never reaches the journal, after a reboot either');

        // The appliance's own upgrade path: dpkg -i inside the running system, where the
        // maintainer scripts stop the daemon, save the database, and start the new one.
        if (rebuilt) {
          t.equal(sshRun(sshP!, password, 'xConfiguration SystemUnit Name: "nspawn-survivor"').code, 0, 'a configuration change');
          const [before] = RootFs.pidsUnder(boot2.child.pid!, argv);
          const [init] = RootFs.childrenOf(boot2.child.pid!);
          fs.copyFileSync(rebuilt.deb, box.p('/root/upgrade.deb')); // the container's /tmp is its own tmpfs
          const up = RootFs.inContainer(init!, ['dpkg', '-i', '/root/upgrade.deb']);
          figures.systemdUpgradeMs = up.ms;
          t.equal(up.code, 0, 'dpkg -i inside the running system' + said(up));
          t.match(up.stdout, /database saved in \/var\/backups\/xway\//, 'the database was saved (with the daemon stopped)');
          await boot2.waitForSsh(sshP!, 30_000);
          const [after] = RootFs.pidsUnder(boot2.child.pid!, argv);
          t.ok(after !== undefined && after !== before, 'the daemon was restarted by the upgrade');
          const r = sshRun(sshP!, password, 'xConfiguration SystemUnit Name');
          t.match(r.stdout, /nspawn-survivor/, 'the configuration survived');
          const j = box.journal('xway.service');
          t.match(j, /Stopp(ing|ed) xway\.service/, 'systemd stopped the old daemon');

          // A damaged database under systemd: every start refuses, the unit ends failed, and the
          // file is never replaced, however often systemd tries.
          const db = box.p('/var/lib/xway/xway.db');
          const show = () => Object.fromEntries(RootFs.inContainer(init!, ['systemctl', 'show', '-p', 'ActiveState,NRestarts,ExecMainStatus', 'xway.service'])
            .stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
          t.equal(RootFs.inContainer(init!, ['systemctl', 'stop', 'xway.service']).code, 0, 'systemctl stop');
          const saved = fs.readFileSync(db);
          fs.truncateSync(db, 1000);
          const damaged = sha256File(db);
          RootFs.inContainer(init!, ['systemctl', 'start', 'xway.service']);
          let state: Record<string, string> = {};
          for (let i = 0; i < 120; i++) {
            state = show();
            if (state.ActiveState === 'failed') break;
            await new Promise((r) => setTimeout(r, 250));
          }
          t.equal(state.ActiveState, 'failed', `the unit ends failed (${JSON.stringify(state)})`);
          t.equal(state.ExecMainStatus, '78', 'the daemon exits 78 (EX_CONFIG)');
          t.equal(state.NRestarts, '0', 'and systemd does not restart it (RestartPreventExitStatus=78)');
          t.equal(sha256File(db), damaged, 'the damaged database is untouched after every attempt');
          t.match(box.journal('xway.service'), /The database \/var\/lib\/xway\/xway\.db cannot be used/, 'the journal says why');
          fs.writeFileSync(db, saved);
          for (const f of [db + '-wal', db + '-shm']) fs.rmSync(f, { force: true });
          RootFs.inContainer(init!, ['systemctl', 'reset-failed', 'xway.service']);
          RootFs.inContainer(init!, ['systemctl', 'start', 'xway.service']);
          await boot2.waitForSsh(sshP!, 30_000);
          t.match(sshRun(sshP!, password, 'xConfiguration SystemUnit Name').stdout, /nspawn-survivor/, 'restored, it starts with its configuration');
        }
      } finally {
        t.equal(await boot2.stop(60_000), 0, 'powers off cleanly');
      }
    } finally {
      await box.destroy();
    }
  });

  // 7. Two appliances, two containers sharing the host's network, each bound to its own loopback
  // address, form a cluster from the shell: each runs its etcd member as a child of xway.service.
  await t.test('two containers (systemd-nspawn) form a cluster from the shell; a change on one is seen on the other', async (t) => {
    if (!commandExists('systemd-nspawn')) {
      t.plan(0, 'systemd-nspawn is not installed (apt-get install systemd-container)');
      return;
    }
    const addrs = ADDRESSES.slice(0, 2);
    // The same ports on both peers, as in production (etcd's ports must be); free on both addresses.
    const taken: number[] = [];
    const port = async () => {
      const p = await freePortOn(addrs, taken);
      taken.push(p);
      return p;
    };
    let ports: { ssh: number; http: number; https: number; etcdClient: number; etcdPeer: number };
    try {
      ports = { ssh: await port(), http: await port(), https: await port(), etcdClient: await port(), etcdPeer: await port() };
    } catch (e) {
      t.plan(0, `this machine cannot bind ${addrs.join(' and ')} (loopback addresses besides 127.0.0.1): ${(e as Error).message}`);
      return;
    }
    const boxes: RootFs[] = [];
    const boots: Daemon[] = [];
    try {
      const t0 = Date.now();
      for (const [i, addr] of addrs.entries()) {
        const box = RootFs.extract(rf.tarball, work);
        boxes.push(box);
        const inst = box.install(first!.deb);
        t.equal(inst.code, 0, `peer ${i + 1}: fresh install` + said(inst));
        fs.appendFileSync(box.p('/etc/default/xway'), `\n# firmware test: cluster peer ${i + 1}\nXWAY_BIND=${addr}\nXWAY_SSH_PORT=${ports.ssh}\n` +
          `XWAY_HTTP_PORT=${ports.http}\nXWAY_HTTPS_PORT=${ports.https}\nXWAY_ETCD_CLIENT_PORT=${ports.etcdClient}\nXWAY_ETCD_PEER_PORT=${ports.etcdPeer}\n`);
      }
      figures.clusterInstallMs = Date.now() - t0;
      const t1 = Date.now();
      for (const box of boxes) boots.push(box.boot());
      for (const [i, boot] of boots.entries()) {
        await boot.waitForSsh(ports.ssh, 120_000, addrs[i]).catch((e: Error) => {
          throw new Error(`peer ${i + 1}: ${e.message}\njournal:\n${boxes[i]!.journal('xway.service')}\nnspawn:\n${boot.stderr}`);
        });
      }
      figures.clusterBootMs = Date.now() - t1;
      const pw = boxes.map((b) => fs.readFileSync(b.p('/var/lib/xway/admin-password'), 'utf8').trim());
      const ssh = (i: number, command: string) => sshRun(ports.ssh, pw[i]!, command, { host: addrs[i] });
      const inits = boots.map((b) => RootFs.childrenOf(b.child.pid!)[0]!);
      for (const [i, init] of inits.entries()) {
        const enabled = RootFs.inContainer(init, ['systemctl', 'is-enabled', 'etcd.service']).stdout.trim();
        const active = RootFs.inContainer(init, ['systemctl', 'is-active', 'etcd.service']).stdout.trim();
        t.same([enabled, active], ['masked', 'inactive'], `peer ${i + 1}: Debian's etcd.service did not start at boot (masked)`);
      }

      // The admin's procedure, the same on both peers.
      const t2 = Date.now();
      const form = [`Peer 1 Address: ${addrs[0]}`, `Peer 2 Address: ${addrs[1]}`, 'ConfigurationPrimary: 1']
        .map((l) => `xConfiguration Clustering ${l}`).concat('xCommand Clustering Join').join('\n');
      for (const i of [0, 1]) {
        const r = ssh(i, form);
        t.match(r.stdout, /Joining the cluster/, `peer ${i + 1}: Join accepted` + said(r, /Joining the cluster/));
      }
      const shown = ['', ''];
      for (let n = 0; n < 120 && Date.now() - t2 < 120_000; n++) {
        for (const i of [0, 1]) shown[i] = ssh(i, 'xStatus Clustering').stdout;
        // The peer's own Status and each peer's: three times Active.
        if (shown.every((o) => (o.match(/Status: "Active"/g) ?? []).length === 3)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      figures.clusterFormMs = Date.now() - t2;
      for (const [i, o] of shown.entries()) {
        const active = new RegExp(`Status: "Active"\\n\\s+ThisPeer: ${i + 1}\\n`).test(o) && (o.match(/Status: "Active"/g) ?? []).length === 3;
        t.ok(active, `peer ${i + 1} is Active as peer ${i + 1} and sees both peers Active` +
          (active ? '' : `:\n${o}\njournal:\n${boxes[i]!.journal('xway.service').slice(-4000)}`));
      }

      // Of two peers the plan makes peer 1 the only voter (two voters would tolerate no failure
      // either) and peer 2 a plain client. The member is a child of its xway daemon, under the
      // unit's sandbox, its data in the data directory.
      const argv = ['/opt/xway/node/bin/node', '--max-semi-space-size=2', '/opt/xway/app/dist/src/main.js'];
      for (const [i, boot] of boots.entries()) {
        const [daemon] = RootFs.pidsUnder(boot.child.pid!, argv);
        const etcd = RootFs.childrenOf(daemon!).filter((p) => /^(\/usr\/bin\/)?etcd$/.test(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0]!));
        if (i === 1) {
          t.same(etcd, [], 'peer 2 (a plain client of the voter) runs no etcd member');
          continue;
        }
        t.equal(etcd.length, 1, `peer ${i + 1}: one etcd member, a child of the daemon`);
        if (etcd.length !== 1) continue;
        const status = fs.readFileSync(`/proc/${etcd[0]}/status`, 'utf8');
        const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
        t.equal(field('Uid').split(/\s+/)[0], String(fs.statSync(boxes[i]!.p('/var/lib/xway')).uid), `peer ${i + 1}: etcd runs as xway`);
        t.equal(field('NoNewPrivs'), '1', `peer ${i + 1}: etcd runs with no new privileges`);
        t.equal(field('Seccomp'), '2', `peer ${i + 1}: and the unit's system-call filter`);
        const args = fs.readFileSync(`/proc/${etcd[0]}/cmdline`, 'utf8').split('\0');
        t.equal(args[args.indexOf('--data-dir') + 1], '/var/lib/xway/etcd', `peer ${i + 1}: etcd's data in the data directory`);
        t.ok(fs.existsSync(boxes[i]!.p('/var/lib/xway/etcd/member/wal')), `peer ${i + 1}: its write-ahead log is there`);
      }

      // A cluster-wide change on peer 2 is seen on peer 1.
      const t3 = Date.now();
      const set = ssh(1, 'xConfiguration Ssh IdleTimeout: 1234');
      t.match(set.stdout, /^OK$/m, 'peer 2 takes a change of the cluster-wide configuration' + said(set, /^OK$/m));
      let seen = '';
      for (let n = 0; n < 60 && Date.now() - t3 < 30_000; n++) {
        seen = ssh(0, 'xConfiguration Ssh IdleTimeout').stdout;
        if (/IdleTimeout: 1234/.test(seen)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      figures.clusterChangeSeenMs = Date.now() - t3;
      t.match(seen, /IdleTimeout: 1234/, 'peer 1 sees it');
    } finally {
      // Both containers powered off by their nspawn pids, at once (the last etcd member waits
      // out a lost quorum: a few seconds, within the unit's stop timeout).
      const codes = await Promise.all(boots.map((b) => b.stop(60_000)));
      t.same(codes, boots.map(() => 0), 'both containers power off cleanly');
      for (const box of boxes) await box.destroy();
    }
  });

  t.comment(`figures: ${JSON.stringify(figures)}`);
  fs.writeFileSync(path.join(WORK, 'figures.json'), JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2) + '\n');
}

await main();

