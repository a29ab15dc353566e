#!/usr/bin/env node
// Prepares a fresh clone for `npm run demo` or `npm test`, on whatever Node runs npm (Node 20
// included): installs dependencies (which bring Node 24 into node_modules/.bin), builds the
// Go assets the chosen command needs, and builds the packages. Each step is skipped when it
// is already done, so running it again is cheap.
//
//   node scripts/setup.mjs demo   # dependencies + packages
//   node scripts/setup.mjs test   # dependencies + Go assets for integration tests + packages
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'demo';
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
const bin = join(root, 'node_modules', '.bin');
// Put Node 24 from node_modules/.bin first for every child, as npm scripts do.
env.PATH = `${bin}:${env.PATH}`;

function step(title, fn) {
  const started = Date.now();
  process.stdout.write(`▸ ${title}\n`);
  fn();
  process.stdout.write(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

function run(command, args, options = {}) {
  execFileSync(command, args, { cwd: root, stdio: 'inherit', env, ...options });
}

const lockHash = createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).digest('hex');
const stamp = join(root, 'node_modules', '.converge-install');
if (!existsSync(join(bin, 'node')) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockHash) {
  step('installing dependencies (npm ci)', () => run('npm', ['ci', '--no-audit', '--no-fund']));
  writeFileSync(stamp, lockHash);
}

if (mode === 'test') {
  const scripts = [
    'packages/kube-testenv/scripts/build-assets.sh',
    'packages/helm-render/scripts/build-helm.sh',
    // The reference kustomize binary for @converge/kustomize's conformance tests (its wasm is
    // built by the package's own build below).
    'packages/kustomize/scripts/build-kustomize.sh',
    // The OCI registry startRegistry() runs (the image gate's, OCI charts' and artifacts' tests).
    'packages/oci/scripts/build-registry.sh',
    // The reference oras binary @converge/oci's artifact round trips are checked against.
    'packages/oci/scripts/build-oras.sh',
    // The reference cosign binary that signs artifacts in @converge/oci's signature tests.
    'packages/oci/scripts/build-cosign.sh',
    // The reference sops binary @converge/sops' conformance tests compare with.
    'packages/sops/scripts/build-sops.sh',
    // The Gitea startGitea() runs (@converge/forge's integration tests); about 5 minutes the first time.
    'packages/forge/scripts/build-gitea.sh',
  ];
  for (const script of scripts) {
    if (existsSync(join(root, script))) step(`building Go assets: ${script}`, () => run('bash', [script]));
  }
}

step('building packages', () => run(join(bin, 'turbo'), ['run', 'build', '--output-logs=errors-only']));
