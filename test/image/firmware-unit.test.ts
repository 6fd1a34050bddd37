// The appliance image's pieces that need no root: the systemd unit (least privilege, and
// `systemd-analyze verify` against a scratch root), the version stamp (clean, dirty, refusals),
// the maintainer scripts and the defaults file. The end-to-end test is firmware.test.ts.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULTS_FILE, FIRMWARE, REPO, UNIT_FILE, parseEnvFile, parseUnit, run, unitCommand, unitValue, unitValues,
} from '../helpers/firmware.js';

const unitText = fs.readFileSync(UNIT_FILE, 'utf8');
const unit = parseUnit(unitText);

function tmp(t: { teardown(fn: () => void): void }, prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('the unit runs the daemon with least privilege', async (t) => {
  const S = 'Service';
  t.equal(unitValue(unit, S, 'User'), 'xway', 'its own user');
  t.equal(unitValue(unit, S, 'Group'), 'xway', 'its own group');
  t.equal(unitValue(unit, S, 'AmbientCapabilities'), 'CAP_NET_BIND_SERVICE', 'only the port-binding capability');
  t.equal(unitValue(unit, S, 'CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE', 'and nothing else can be gained');
  t.equal(unitValue(unit, S, 'NoNewPrivileges'), 'yes');
  t.equal(unitValue(unit, S, 'ProtectSystem'), 'strict', 'the whole file system read-only');
  t.same(unitValues(unit, S, 'ReadWritePaths'), ['/var/lib/xway'], 'except the data directory');
  t.equal(unitValue(unit, S, 'PrivateTmp'), 'yes');
  t.equal(unitValue(unit, S, 'ProtectHome'), 'yes');
  t.equal(unitValue(unit, S, 'UMask'), '0077', 'files it creates are its own');
  t.equal(unitValue(unit, S, 'Restart'), 'on-failure', 'restarts on failure');
  t.equal(unitValue(unit, S, 'RestartPreventExitStatus'), '78', 'but not when the data directory is unusable');
  t.equal(unitValue(unit, S, 'StandardError'), 'journal', 'logs to the journal');
  t.equal(unitValue(unit, S, 'EnvironmentFile'), '-/etc/default/xway', 'settings from /etc/default/xway');
  t.equal(unitValues(unit, 'Install', 'WantedBy')[0], 'multi-user.target');
  const cmd = unitCommand(unit, tmp(t, 'xway-unit-'));
  t.same(cmd.argv, ['/opt/xway/node/bin/node', '--max-semi-space-size=2', '/opt/xway/app/dist/src/main.js'], 'its bundled node runs the compiled daemon');
  t.match(cmd.env, { XWAY_DATA_DIR: '/var/lib/xway', XWAY_SSH_PORT: '22', XWAY_HTTP_PORT: '80', XWAY_HTTPS_PORT: '443', XWAY_BIND: '0.0.0.0', NODE_ENV: 'production' },
    'production ports and data directory');
  t.match(cmd.env, { XWAY_ETCD_BIN: '/usr/bin/etcd', XWAY_ETCD_CLIENT_PORT: '2379', XWAY_ETCD_PEER_PORT: '2380' },
    'a clustered appliance runs Debian\'s etcd on the standard ports');
  t.same(cmd.caps, ['net_bind_service']);
});

t.test('/etc/default/xway overrides the unit, and ships with nothing set', async (t) => {
  t.same(parseEnvFile(fs.readFileSync(DEFAULTS_FILE, 'utf8')), [], 'every setting is commented out');
  const root = tmp(t, 'xway-root-');
  fs.mkdirSync(path.join(root, 'etc/default'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/default/xway'), '# admin\nXWAY_SSH_PORT=2022\nXWAY_BIND="192.0.2.10"\n');
  const cmd = unitCommand(unit, root);
  t.equal(cmd.env.XWAY_SSH_PORT, '2022');
  t.equal(cmd.env.XWAY_BIND, '192.0.2.10');
  t.equal(cmd.env.XWAY_HTTPS_PORT, '443', 'the rest keeps the unit default');
  t.throws(() => unitCommand(parseUnit(unitText.replace(/^ExecStart=.*$/m, 'ExecStart=/bin/sh -c "echo $HOME"')), root),
    /not emulated/, 'the emulation refuses a command line it would not reproduce faithfully');
});

t.test('systemd-analyze verify passes on the unit, and would catch a mistake', async (t) => {
  if (!fs.existsSync('/lib/systemd/system/sysinit.target')) {
    t.fail('systemd unit files are missing on this machine (apt-get install systemd)');
    return;
  }
  // A scratch root with the system's units and a stand-in for the bundled node binary.
  const root = tmp(t, 'xway-verify-');
  fs.cpSync('/lib/systemd/system', path.join(root, 'lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  fs.mkdirSync(path.join(root, 'opt/xway/node/bin'), { recursive: true });
  fs.copyFileSync('/bin/true', path.join(root, 'opt/xway/node/bin/node'));
  fs.chmodSync(path.join(root, 'opt/xway/node/bin/node'), 0o755);
  const unitPath = path.join(root, 'lib/systemd/system/xway.service');
  fs.writeFileSync(unitPath, unitText);
  const ok = run('systemd-analyze', ['verify', `--root=${root}`, 'xway.service']);
  t.equal(ok.code, 0, 'verify exits 0');
  t.equal(ok.stderr.trim(), '', `and prints nothing: ${ok.stderr}`);

  fs.writeFileSync(unitPath, unitText.replace('ProtectSystem=strict', 'ProtectSytem=strict'));
  const typo = run('systemd-analyze', ['verify', `--root=${root}`, 'xway.service']);
  t.match(typo.stderr, /Unknown key/, 'a misspelt directive is reported');

  fs.writeFileSync(unitPath, unitText);
  fs.rmSync(path.join(root, 'opt/xway/node/bin/node'));
  const noExec = run('systemd-analyze', ['verify', `--root=${root}`, 'xway.service']);
  t.not(noExec.code, 0, 'a missing runtime fails verification');

  const sec = run('systemd-analyze', ['security', '--offline=true', `--root=${root}`, 'xway.service']);
  const exposure = /Overall exposure level for xway\.service: ([\d.]+)/.exec(sec.stdout);
  t.ok(exposure && Number(exposure[1]) <= 2.0, `systemd-analyze security exposure ${exposure?.[1]} (OK is below 3.0; kept at 2.0 or less)`);
});

t.test('the version stamp: commit, .dirty, refusals', async (t) => {
  // A throwaway repository holding a copy of stamp.mjs and a package.json.
  const repo = tmp(t, 'xway-stamp-');
  fs.mkdirSync(path.join(repo, 'firmware'));
  fs.copyFileSync(path.join(FIRMWARE, 'stamp.mjs'), path.join(repo, 'firmware/stamp.mjs'));
  fs.writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'x', version: '1.2.3', xway: { releaseDate: '2026-01-02' } }));
  fs.writeFileSync(path.join(repo, '.gitignore'), 'build/\n');
  const git = (...a: string[]) => run('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a]);
  const stamp = (env: Record<string, string> = {}) => run('node', [path.join(repo, 'firmware/stamp.mjs')], { env: { ...process.env, ...env }, cwd: repo });
  t.equal(git('init', '-q').code, 0);
  git('add', '.');
  t.equal(git('commit', '-qm', 'one').code, 0);
  const sha = git('rev-parse', 'HEAD').stdout.trim();

  const clean = JSON.parse(stamp().stdout);
  t.same(clean, { version: `1.2.3+g${sha.slice(0, 10)}`, releaseDate: '2026-01-02', commit: sha, dirty: false, debVersion: `1.2.3+1.g${sha.slice(0, 10)}-1` }, 'clean tree');

  fs.mkdirSync(path.join(repo, 'build'));
  fs.writeFileSync(path.join(repo, 'build/x'), 'ignored');
  t.equal(JSON.parse(stamp().stdout).dirty, false, 'ignored files (build output) do not make it dirty');

  fs.writeFileSync(path.join(repo, 'new.txt'), 'x');
  t.equal(JSON.parse(stamp().stdout).version, `1.2.3+g${sha.slice(0, 10)}.dirty`, 'an untracked file makes it dirty');
  fs.rmSync(path.join(repo, 'new.txt'));

  fs.appendFileSync(path.join(repo, '.gitignore'), '# changed\n');
  const dirty = JSON.parse(stamp({ XWAY_DEB_REVISION: '7' }).stdout);
  t.equal(dirty.version, `1.2.3+g${sha.slice(0, 10)}.dirty`, 'a modified file makes it dirty');
  t.equal(dirty.debVersion, `1.2.3+1.g${sha.slice(0, 10)}.dirty-7`, 'revision from XWAY_DEB_REVISION');
  git('commit', '-qam', 'two');
  t.equal(JSON.parse(stamp().stdout).debVersion.split('+')[1]!.split('.')[0], '2', 'the commit count orders later commits higher');

  const out = path.join(repo, 'build/version.json');
  t.equal(run('node', [path.join(repo, 'firmware/stamp.mjs'), '--out', out]).code, 0);
  const file = JSON.parse(fs.readFileSync(out, 'utf8'));
  t.same(Object.keys(file).sort(), ['commit', 'dirty', 'releaseDate', 'version'], 'version.json holds what the daemon reads');

  const bad = stamp({ XWAY_DEB_REVISION: '1; rm -rf /' });
  t.equal(bad.code, 1, 'a bad revision is refused');
  t.match(bad.stderr, /XWAY_DEB_REVISION must be a positive integer/);

  fs.writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'x', version: 'latest' }));
  const badVersion = stamp();
  t.equal(badVersion.code, 1);
  t.match(badVersion.stderr, /is not MAJOR\.MINOR\.PATCH/, 'a version dpkg could not order is refused');

  const noGit = tmp(t, 'xway-nogit-');
  fs.mkdirSync(path.join(noGit, 'firmware'));
  fs.copyFileSync(path.join(FIRMWARE, 'stamp.mjs'), path.join(noGit, 'firmware/stamp.mjs'));
  fs.writeFileSync(path.join(noGit, 'package.json'), JSON.stringify({ name: 'x', version: '1.2.3' }));
  const ng = run('node', [path.join(noGit, 'firmware/stamp.mjs')], { cwd: noGit, env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(noGit) } });
  t.equal(ng.code, 1, 'outside a git checkout there is no stamp');
  t.match(ng.stderr, /cannot read the git commit/);
});

t.test('maintainer scripts are valid POSIX sh and refuse unknown calls', async (t) => {
  for (const s of ['preinst', 'postinst', 'prerm', 'postrm']) {
    const file = path.join(FIRMWARE, 'debian', s);
    t.equal(fs.statSync(file).mode & 0o111, 0o111, `${s} is executable`);
    t.match(fs.readFileSync(file, 'utf8'), /^#!\/bin\/sh\n/, `${s} runs under /bin/sh`);
    const dash = fs.existsSync('/bin/dash') ? '/bin/dash' : '/bin/sh';
    t.equal(run(dash, ['-n', file]).code, 0, `${s} parses`);
  }
  t.match(fs.readFileSync(path.join(FIRMWARE, 'debian', 'control.in'), 'utf8'), /^Depends: adduser, etcd-server, /m,
    'the package brings Debian\'s etcd for the cluster member');
  const r = run('/bin/sh', [path.join(FIRMWARE, 'debian', 'postinst'), 'bogus']);
  t.equal(r.code, 1, 'postinst with an unknown argument fails');
  t.match(r.stderr, /unknown argument 'bogus'/);
});

t.test('the unit and npm start run node with the same flags (the memory budget the benchmark measures)', async (t) => {
  const unit = parseUnit(fs.readFileSync(UNIT_FILE, 'utf8'));
  const exec = unitValue(unit, 'Service', 'ExecStart');
  const unitFlags = exec.split(/\s+/).filter((w) => w.startsWith('--'));
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const startFlags = pkg.scripts.start.split('&&').pop()!.trim().split(/\s+/).filter((w) => w.startsWith('--'));
  t.same(unitFlags, ['--max-semi-space-size=2']);
  t.same(startFlags, unitFlags);
});
