#!/usr/bin/env bash
# Writes the root package's optionalDependencies (one sled-node-<target> per napi target) with
# `napi pre-publish`, without publishing anything, and the matching package-lock entries.
# Run it after changing napi.targets or the version, and commit package.json and the lock.
#
# CLI 3.10's `pre-publish --dry-run` writes nothing, and a real run first checks that every
# npm/<target>/ holds its binary (this machine builds only two of seven). So it runs on a
# scratch copy whose missing binaries are empty placeholders, with --skip-optional-publish
# and --no-gh-release, and only the optionalDependencies it wrote are copied back.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cp package.json "$scratch/"
cp -r npm "$scratch/npm"
for dir in "$scratch"/npm/*/; do
  main=$(node -p "require('$dir/package.json').main")
  [ -f "$dir/$main" ] || : > "$dir/$main"
done
npx napi pre-publish --cwd "$scratch" -p npm --skip-optional-publish --no-gh-release

node - "$scratch/package.json" <<'EOF'
const fs = require('node:fs')
const written = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')).optionalDependencies
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'))
pkg.optionalDependencies = written
fs.writeFileSync('package.json', JSON.stringify(pkg, null, 2) + '\n')
console.log('optionalDependencies:', written)
EOF

# npm ci refuses a lock that lacks a dependency of package.json, and npm install leaves out
# packages the registry does not have yet (404 on an optional dependency is skipped). Record
# them as npm will once they are published, so npm ci installs the one for this machine and
# skips the rest.
npm install --package-lock-only --no-audit --no-fund >/dev/null
node - <<'EOF'
const fs = require('node:fs')
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'))
const { optionalDependencies } = JSON.parse(fs.readFileSync('package.json', 'utf8'))
for (const dir of fs.readdirSync('npm')) {
  const p = JSON.parse(fs.readFileSync(`npm/${dir}/package.json`, 'utf8'))
  if (!(p.name in optionalDependencies)) continue
  const { name, version, cpu, os, libc, license, engines } = p
  lock.packages[`node_modules/${name}`] = {
    version,
    resolved: `https://registry.npmjs.org/${name}/-/${name}-${version}.tgz`,
    cpu, os, ...(libc && { libc }), license, engines, optional: true,
  }
}
fs.writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n')
EOF
# and let npm put them in its own order
npm install --package-lock-only --no-audit --no-fund >/dev/null
