#!/usr/bin/env node
// The version stamp of an image, computed from package.json and git.
//
//   version     "<package.json version>+g<10-hex commit>"; ".dirty" appended when `git status`
//               shows any change (tracked or untracked, ignored files excepted) so an image
//               built from a tree that is not a commit can never pass for one.
//   releaseDate package.json "xway.releaseDate" (YYYY-MM-DD), else the commit date.
//   debVersion  "<package.json version>+<commit count>.g<commit>[.dirty]-<revision>": the
//               commit count makes later commits sort higher for dpkg/apt; the revision
//               (XWAY_DEB_REVISION, default 1) tells two builds of the same tree apart.
//
// The daemon reads `version` and `releaseDate` from version.json next to its package.json
// (that file exists only in the image; a development tree reports "<version>-dev").
//
// Usage: node firmware/stamp.mjs [--out FILE]   prints the stamp as JSON, writes FILE too.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function git(...args) {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function fail(message) {
  process.stderr.write(`firmware: ${message}\n`);
  process.exit(1);
}

const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
if (typeof pkg.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(pkg.version)) {
  fail(`package.json version ${JSON.stringify(pkg.version)} is not MAJOR.MINOR.PATCH`);
}

let commit;
let count;
let dirty;
let commitDate;
try {
  commit = git('rev-parse', '--verify', 'HEAD');
  count = Number(git('rev-list', '--count', 'HEAD'));
  dirty = git('status', '--porcelain', '--untracked-files=normal') !== '';
  commitDate = git('log', '-1', '--format=%cs', 'HEAD');
} catch (e) {
  fail(`cannot read the git commit of ${repo} (the version stamp needs it): ${e instanceof Error ? e.message.split('\n')[0] : e}`);
}
if (!/^[0-9a-f]{40}$/.test(commit) || !Number.isInteger(count) || count < 1) fail(`unexpected git answer for HEAD: ${commit}`);

const revision = process.env.XWAY_DEB_REVISION ?? '1';
if (!/^[1-9][0-9]{0,5}$/.test(revision)) fail(`XWAY_DEB_REVISION must be a positive integer, not ${JSON.stringify(revision)}`);

const releaseDate = pkg.xway?.releaseDate ?? commitDate;
if (!/^\d{4}-\d{2}-\d{2}$/.test(releaseDate)) fail(`release date ${JSON.stringify(releaseDate)} is not YYYY-MM-DD`);

const short = commit.slice(0, 10);
const suffix = dirty ? '.dirty' : '';
const stamp = {
  version: `${pkg.version}+g${short}${suffix}`,
  releaseDate,
  commit,
  dirty,
  debVersion: `${pkg.version}+${count}.g${short}${suffix}-${revision}`,
};

const outAt = process.argv.indexOf('--out');
if (outAt !== -1) {
  const file = process.argv[outAt + 1];
  if (!file) fail('--out needs a file name');
  fs.writeFileSync(file, JSON.stringify({ version: stamp.version, releaseDate, commit, dirty }, null, 2) + '\n', { mode: 0o644 });
}
process.stdout.write(JSON.stringify(stamp) + '\n');
