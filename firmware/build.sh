#!/bin/bash
# Builds the xway appliance image: a Debian package with the compiled daemon (dist/), the very
# Node binary that runs this build (its ABI matches the native modules in node_modules), the
# production dependencies only, a version stamp, the systemd unit and the maintainer scripts.
#
#   npm run firmware            (compiles with tsc first, then runs this script)
#
# Output (XWAY_FW_OUT, default build/firmware):
#   xway_<debVersion>_<arch>.deb   the package (the three newest are kept)
#   xway.deb                       a copy of the latest package
#   build.json                     version, file name, sizes, build time
#
# Settings: XWAY_DEB_REVISION (default 1), XWAY_DEB_COMPRESS (xz|zstd|gzip, default xz),
# XWAY_DEB_LEVEL (default 1: xz -1 packs the 100 MB node binary ~15 times faster than xz -6,
# for a package ~17 % larger), XWAY_FW_KEEP_STAGE=1 keeps the staged tree in <out>/stage.
set -euo pipefail

started=$(date +%s%N)
fw=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$fw")
out=${XWAY_FW_OUT:-$repo/build/firmware}
compress=${XWAY_DEB_COMPRESS:-xz}
level=${XWAY_DEB_LEVEL:-1}
node_bin=$(node -p 'process.execPath')

say() { printf 'firmware: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

case "$compress" in xz|zstd|gzip) ;; *) die "XWAY_DEB_COMPRESS must be xz, zstd or gzip, not '$compress'";; esac
case "$level" in [0-9]|1[0-9]) ;; *) die "XWAY_DEB_LEVEL must be a compression level 0..19, not '$level'";; esac
for tool in dpkg-deb git; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg git)"
done
[ -f "$repo/dist/src/main.js" ] || die "dist/src/main.js is missing: run 'npm run build' first"
# dist/ must be at least as new as the sources it was compiled from.
newer=$(find "$repo/src" "$repo/commands" "$repo/schema" -name '*.ts' -newer "$repo/dist/src/main.js" -print -quit)
[ -z "$newer" ] || say "warning: $newer is newer than dist/: run 'npm run build' (the image holds dist/ as it is)"

# Reproducible: timestamps in the package are clamped to the commit's time, so two builds of
# one commit with the same node_modules give the same bytes.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct)}

stage=$out/stage
rm -rf "$stage"
app=$stage/opt/xway/app
mkdir -p "$stage/DEBIAN" "$app" "$out"

# The stamp is taken once: version.json, the Debian version and build.json all agree even if
# the tree changes during the build.
arch=$(dpkg --print-architecture)
stamp=$(node "$fw/stamp.mjs" --out "$app/version.json")
field() { node -e 'process.stdout.write(String(JSON.parse(process.argv[1])[process.argv[2]]))' "$stamp" "$1"; }
version=$(field version)
deb_version=$(field debVersion)
[ "$(field dirty)" = false ] || say "warning: the tree has uncommitted changes: version $version"

# 1. The runtime: the node binary this build and the tests run with.
install -D -m 0755 "$node_bin" "$stage/opt/xway/node/bin/node"
node_doc=/usr/share/doc/nodejs
if [ -f "$node_doc/LICENSE" ]; then install -D -m 0644 "$node_doc/LICENSE" "$stage/opt/xway/node/LICENSE"; fi

# 2. The compiled daemon (no benchmarks, no source maps: the TypeScript is not shipped).
mkdir -p "$app/dist"
for d in "$repo"/dist/*/; do
  name=$(basename "$d")
  case "$name" in bench|test) continue;; esac
  cp -a "$d" "$app/dist/$name"
done
find "$app/dist" -name '*.map' -delete

# 3. package.json without the development parts (version.json is next to it already).
node -e '
  const fs = require("fs");
  const pkg = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  for (const k of ["devDependencies", "scripts", "allowScripts"]) delete pkg[k];
  fs.writeFileSync(process.argv[2], JSON.stringify(pkg, null, 2) + "\n");
' "$repo/package.json" "$app/package.json"

# 4. Production dependencies: the packages `npm ls --omit=dev` names, copied as built here
#    (so their native modules match the node binary above), minus build leftovers.
#    Type declarations (@types/*) are left out: protobufjs (under etcd3) lists @types/node as a
#    dependency, but nothing loads a .d.ts at run time.
mapfile -t prod < <(cd "$repo" && npm ls --omit=dev --all --parseable 2>/dev/null \
  | sed -n "s|^$repo/node_modules/||p" | grep -v '/node_modules/' | grep -v '^@types/' | sort -u)
[ "${#prod[@]}" -gt 0 ] || die "npm ls found no production dependencies (is node_modules installed?)"
for p in "${prod[@]}"; do
  mkdir -p "$app/node_modules/$(dirname "$p")"
  cp -a "$repo/node_modules/$p" "$app/node_modules/$p"
done
# Native addons: keep build/Release/*.node, drop compiler output and C sources.
while IFS= read -r gyp; do
  dir=$(dirname "$gyp")
  if [ -d "$dir/build" ]; then
    keep=$(mktemp -d "$out/keep.XXXXXX")
    find "$dir/build/Release" -maxdepth 1 -name '*.node' ! -name 'test_*' -exec mv {} "$keep/" \; 2>/dev/null || true
    rm -rf "${dir:?}/build"
    if [ -n "$(ls -A "$keep")" ]; then mkdir -p "$dir/build/Release" && mv "$keep"/* "$dir/build/Release/"; fi
    rmdir "$keep"
  fi
  # deps/: the vendored C libraries (and their build helpers); src/: C++ unless it holds JS.
  rm -rf "${dir:?}/deps"
  if [ -d "$dir/src" ] && [ -z "$(find "$dir/src" \( -name '*.js' -o -name '*.node' \) -print -quit)" ]; then
    rm -rf "${dir:?}/src"
  fi
done < <(find "$app/node_modules" -name binding.gyp)
# Never loaded at run time: source maps, TypeScript sources and type declarations.
find "$app/node_modules" -type f \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -delete

# Dependencies the project fixes (patches/, applied by npm's postinstall through patch-package)
# must be in the image as fixed: a node_modules installed without scripts would ship the bug.
# The ceiling keeps git from finding this repository above the stage (the default output is
# inside it): there, git apply would check paths against the repository and pass vacuously.
for patch in "$repo"/patches/*.patch; do
  [ -e "$patch" ] || continue
  (cd "$app" && GIT_CEILING_DIRECTORIES="$(dirname "$app")" git apply --check -R "$patch" 2>/dev/null) \
    || die "$(basename "$patch") is not applied in node_modules: run 'npm ci' (or 'npx patch-package')"
done

# 5. Smoke test with the staged runtime: every dependency loads, SQLite opens.
(cd "$app" && env -u NODE_OPTIONS "$stage/opt/xway/node/bin/node" --input-type=module -e '
  import fs from "node:fs";
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  for (const d of Object.keys(pkg.dependencies ?? {})) await import(d);
  const Database = (await import("better-sqlite3")).default;
  const db = new Database(":memory:");
  if (db.prepare("select 41 + 1 as x").get().x !== 42) throw new Error("sqlite answered wrong");
') || die "the staged image does not load its dependencies"

# 6. The system integration: unit, defaults, docs.
install -D -m 0644 "$fw/xway.service" "$stage/lib/systemd/system/xway.service"
install -D -m 0644 "$fw/default" "$stage/etc/default/xway"
install -D -m 0644 "$fw/README.md" "$stage/usr/share/doc/xway/README.md"
install -D -m 0644 "$app/version.json" "$stage/usr/share/doc/xway/version.json"

# 7. Debian metadata. The shared-library dependencies of node and the native addons come from
#    dpkg-shlibdeps (e.g. the addons built here need glibc 2.34 and libstdc++ from GCC 11);
#    without it, this machine's own library versions are required (correct, maybe too strict).
mapfile -t elves < <(find "$stage/opt" -type f \( -name '*.node' -o -path '*/node/bin/node' \))
shlibs=""
if command -v dpkg-shlibdeps >/dev/null; then
  scratch=$(mktemp -d "$out/shlibs.XXXXXX")
  mkdir "$scratch/debian"
  printf 'Source: xway\n\nPackage: xway\nArchitecture: any\n' > "$scratch/debian/control"
  shlibs=$(cd "$scratch" && dpkg-shlibdeps -O "${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p') || true
  rm -rf "$scratch"
fi
if [ -z "$shlibs" ]; then
  say "warning: dpkg-shlibdeps (dpkg-dev) is missing or failed: requiring this machine's libc6/libstdc++6/libgcc-s1"
  v() { dpkg-query -W -f '${Version}' "$1" | sed 's/-[^-]*$//'; }
  shlibs="libc6 (>= $(v libc6)), libgcc-s1 (>= $(v libgcc-s1)), libstdc++6 (>= $(v libstdc++6))"
fi
for s in preinst postinst prerm postrm; do install -m 0755 "$fw/debian/$s" "$stage/DEBIAN/$s"; done
echo /etc/default/xway > "$stage/DEBIAN/conffiles"
installed_kib=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$deb_version|" -e "s|@ARCH@|$arch|" -e "s|@INSTALLED_SIZE@|$installed_kib|" \
  -e "s|@NODE@|$("$node_bin" --version)|" -e "s|@STAMP@|$version|" -e "s|@SHLIBS@|$shlibs|" \
  "$fw/debian/control.in" > "$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"

deb=$out/xway_${deb_version}_${arch}.deb
rm -f "$deb"
dpkg-deb --root-owner-group -Z"$compress" -z"$level" --threads-max="$(nproc)" --build "$stage" "$deb" >/dev/null
cp -f "$deb" "$out/xway.deb"
# Keep the three newest packages (enough to try an upgrade by hand).
ls -1t "$out"/xway_*_"$arch".deb | tail -n +4 | xargs -r rm -f --
[ "${XWAY_FW_KEEP_STAGE:-0}" = 1 ] || rm -rf "$stage"

bytes=$(stat -c %s "$deb")
ms=$(( ($(date +%s%N) - started) / 1000000 ))
node -e '
  const [file, version, debVersion, deb, bytes, kib, ms, compress] = process.argv.slice(1);
  require("fs").writeFileSync(file, JSON.stringify({ version, debVersion, deb, bytes: +bytes,
    installedKiB: +kib, buildMs: +ms, compress }, null, 2) + "\n");
' "$out/build.json" "$version" "$deb_version" "$deb" "$bytes" "$installed_kib" "$ms" "$compress -$level"
say "built $deb ($((bytes / 1024 / 1024)) MiB, installs $((installed_kib / 1024)) MiB, version $version) in $((ms / 1000)).$(( (ms % 1000) / 100 )) s"
echo "$deb"
