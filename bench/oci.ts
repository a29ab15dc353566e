// Benchmark: ociSource against the reference oras CLI on the same loopback registry (issue 14).
//   (a) latestRevision() on an unchanged artifact vs `oras manifest fetch --descriptor`
//   (b) fetch() of a 5 MB artifact (download, digest check, unpack) vs `oras blob fetch` of its layer
//       (download and digest check only: oras does not unpack a Flux layer) + `tar -xzf`
//   (c) pushArtifact() of the same 5 MB folder vs `tar -czf` + `oras push`
// The CLI numbers include starting a process, as CI pays it; the ratio is ours / theirs.
// Run: `npm run build && node bench/oci.ts` (Node 24 strips the types).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ociSource, pushArtifact, FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE } from '@converge/oci';
import { startRegistry } from '@converge/oci/testing';
import { fmt, stats } from './stats.mjs';

const ROUNDS = 15;
const oras = execFileSync('bash', ['packages/oci/scripts/build-oras.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
const registry = await startRegistry();
const dir = mkdtempSync(join(tmpdir(), 'converge-bench-oci-'));
const content = join(dir, 'content');

// 5 MB of manifests that compress like YAML does (about 4:1), in 200 files.
let seed = 7;
const word = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return ['name', 'image', 'value', 'replicas', 'app', 'labels', 'port', 'env'][seed % 8]! + (seed % 1000).toString(36);
};
for (let i = 0; i < 200; i++) {
  mkdirSync(join(content, `app-${i % 20}`), { recursive: true });
  let text = '';
  while (text.length < 25_000) text += `${word()}: ${word()}-${word()}\n`;
  writeFileSync(join(content, `app-${i % 20}`, `m-${i}.yaml`), text);
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
function timeSync(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}
function report(name: string, ours: number[], theirs: number[], what: string): void {
  const a = stats(ours).p50;
  const b = stats(theirs).p50;
  console.log(`${name.padEnd(38)} converge ${fmt(a).padStart(10)} | ${what.padEnd(28)} ${fmt(b).padStart(10)} | ratio ${(a / b).toFixed(2)}×`);
}

const url = `oci://${registry.host}/bench/app`;
const cli = (args: string[], cwd = dir) => execFileSync(oras, [...args, '--plain-http'], { cwd, stdio: 'pipe' });

// (c) push
const pushOurs: number[] = [];
const pushTheirs: number[] = [];
let pushed = await pushArtifact({ url: `${url}:warm`, dir: content, insecure: true });
writeFileSync(join(dir, 'config.json'), '{}');
for (let i = 0; i < 5; i++) {
  writeFileSync(join(content, 'rev.txt'), `ours ${i}`);
  pushOurs.push(await timeAsync(async () => (pushed = await pushArtifact({ url: `${url}:main`, dir: content, insecure: true }))));
  writeFileSync(join(content, 'rev.txt'), `theirs ${i}`);
  pushTheirs.push(
    timeSync(() => {
      execFileSync('tar', ['-czf', join(dir, 'layer.tgz'), '-C', content, '.']);
      cli(['push', `${registry.host}/bench/oras:main`, '--config', `config.json:${FLUX_CONFIG_MEDIA_TYPE}`, `layer.tgz:${FLUX_CONTENT_MEDIA_TYPE}`]);
    }),
  );
}

// (a) latestRevision on an unchanged artifact
const source = ociSource({ url, ref: { tag: 'main' }, insecure: true });
const latestOurs: number[] = [];
const latestTheirs: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  latestOurs.push(await timeAsync(() => source.latestRevision()));
  latestTheirs.push(timeSync(() => cli(['manifest', 'fetch', '--descriptor', `${registry.host}/bench/app:main`])));
}

// (b) fetch 5 MB
const manifest = JSON.parse(cli(['manifest', 'fetch', `${registry.host}/bench/app:main`]).toString()) as { layers: { digest: string; size: number }[] };
const layer = manifest.layers[0]!;
const fetchOurs: number[] = [];
const fetchTheirs: number[] = [];
let files = 0;
for (let i = 0; i < ROUNDS; i++) {
  fetchOurs.push(await timeAsync(async () => (files = (await (await source.fetch(pushed.revision)).files.list()).length)));
  const out = join(dir, `pulled-${i}`);
  mkdirSync(out);
  fetchTheirs.push(
    timeSync(() => {
      cli(['blob', 'fetch', `${registry.host}/bench/app@${layer.digest}`, '--output', join(dir, 'pulled.tgz')]);
      execFileSync('tar', ['-xzf', join(dir, 'pulled.tgz'), '-C', out]);
    }),
  );
  rmSync(out, { recursive: true });
}

console.log(`artifact: ${files} files, layer ${(layer.size / 1024 / 1024).toFixed(2)} MB compressed; medians of ${ROUNDS} rounds (push: 5)`);
report('(a) latestRevision, unchanged', latestOurs, latestTheirs, 'oras manifest fetch');
report('(b) fetch + unpack 5 MB', fetchOurs, fetchTheirs, 'oras blob fetch + tar -x');
report('(c) push 5 MB folder', pushOurs, pushTheirs, 'tar -cz + oras push');

await registry.stop();
rmSync(dir, { recursive: true, force: true });
