// The product's version: `version.json` beside package.json (written by the firmware build,
// with the git commit) or, in a checkout, package.json's version marked `-dev`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface VersionInfo {
  version: string;
  releaseDate: string;
  root: string;
}

export function findRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('package.json not found above ' + from);
}

export function readVersion(root = findRoot()): VersionInfo {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string; xway?: { releaseDate?: string } };
  const stamp = path.join(root, 'version.json');
  if (fs.existsSync(stamp)) {
    const v = JSON.parse(fs.readFileSync(stamp, 'utf8')) as { version: string; releaseDate: string };
    return { version: v.version, releaseDate: v.releaseDate, root };
  }
  return { version: `${pkg.version}-dev`, releaseDate: pkg.xway?.releaseDate ?? '', root };
}
