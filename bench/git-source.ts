// Benchmark: gitSource against the git CLI on the same local smart-HTTP server (git http-backend),
// on a repository of 2,000 files / 20 MB (issue 3).
//   (a) latestRevision() vs `git ls-remote`   target: ≤ 1.5× the CLI
//   (b) first fetch() vs `git clone --depth 1`
//   (c) incremental fetch() after one small commit vs `git fetch`   target: under 200 ms
// The server runs in a child process so this process's memory is the client's alone.
// Run: `npm run build && node bench/git-source.ts` (Node 24 strips the types).
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gitSource } from '@converge/git-source';
import { startGitServer } from '@converge/git-source/testing';

const FILES = 2_000;
const FILE_BYTES = 10_486; // 2,000 × 10,486 B = 20 MiB
const run = promisify(execFile);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
let heapPeak = 0;
const sampler = setInterval(() => {
  heapPeak = Math.max(heapPeak, process.memoryUsage().rss);
}, 5);
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const maxRss = (): number => process.resourceUsage().maxRSS * 1024;

function report(name: string, ours: number, cli: number, cliName: string, extra = ''): void {
  console.log(
    `${name.padEnd(34)} gitSource ${ours.toFixed(1).padStart(8)} ms | ${cliName.padEnd(22)} ${cli.toFixed(1).padStart(8)} ms | ratio ${(ours / cli).toFixed(2)}×${extra}`,
  );
}

const root = await mkdtemp(join(tmpdir(), 'converge-bench-git-'));
const work = await mkdtemp(join(tmpdir(), 'converge-bench-work-'));
// Shape the repository with the helpers (git CLI on the bare repo); serve it from a child process.
const shaper = await startGitServer({ root });
await shaper.close();
await shaper.createRepo('bench');
let seed = 1;
const noise = (n: number): string => {
  let s = '';
  while (s.length < n) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    s += seed.toString(36);
  }
  return s.slice(0, n);
};
const files: Record<string, string> = {};
for (let i = 0; i < FILES; i++) files[`apps/app-${i % 40}/manifest-${i}.yaml`] = `index: ${i}\ndata: ${noise(FILE_BYTES - 20)}\n`;
await shaper.commitFiles('bench', files, 'initial: 2,000 files');
const du = (await run('du', ['-sb', join(root, 'bench.git')])).stdout.split('\t')[0];
console.log(`repository: ${FILES} files, ${mb(FILES * FILE_BYTES)} of content, ${mb(Number(du))} on the server`);

const serverScript = `import { startGitServer } from '@converge/git-source/testing';
const s = await startGitServer({ root: ${JSON.stringify(root)} });
console.log(s.url);`;
const server = spawn(process.execPath, ['--input-type=module', '-e', serverScript], { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() });
const baseUrl = await new Promise<string>((resolve) => server.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
const url = `${baseUrl}/bench.git`;

try {
  const baseline = maxRss();
  // (a) the cost of a poll
  const source = gitSource({ url, ref: { branch: 'main' }, cacheDir: join(work, 'cache-a') });
  await source.latestRevision();
  await run('git', ['ls-remote', url, 'refs/heads/main']);
  const oursA: number[] = [];
  const cliA: number[] = [];
  for (let i = 0; i < 20; i++) {
    oursA.push(await time(() => source.latestRevision()));
    cliA.push(await time(() => run('git', ['ls-remote', url, 'refs/heads/main'])));
  }
  report('(a) latestRevision vs ls-remote', median(oursA), median(cliA), 'git ls-remote', '  (median of 20)');

  // (b) first fetch into an empty cache
  const oursB: number[] = [];
  const cliB: number[] = [];
  let peakB = 0;
  for (let i = 0; i < 3; i++) {
    heapPeak = 0;
    const fresh = gitSource({ url, ref: { branch: 'main' }, cacheDir: join(work, `cache-b${i}`) });
    oursB.push(await time(() => fresh.fetch()));
    peakB = Math.max(peakB, heapPeak);
    cliB.push(await time(() => run('git', ['clone', '-q', '--depth', '1', url, join(work, `clone-b${i}`)])));
  }
  report('(b) first fetch vs clone --depth 1', median(oursB), median(cliB), 'git clone --depth 1', '  (median of 3)');

  // (c) incremental fetch after one small commit
  const follower = gitSource({ url, ref: { branch: 'main' }, cacheDir: join(work, 'cache-c') });
  await follower.fetch();
  const clone = join(work, 'clone-c');
  await run('git', ['clone', '-q', '--depth', '1', url, clone]);
  const oursC: number[] = [];
  const cliC: number[] = [];
  for (let i = 0; i < 5; i++) {
    await shaper.commitFiles('bench', { [`apps/app-${i}/manifest-${i}.yaml`]: `index: ${i}\nchanged: ${i}\n` }, `small change ${i}`);
    oursC.push(await time(() => follower.fetch()));
    cliC.push(await time(() => run('git', ['fetch', '-q', 'origin', 'main'], { cwd: clone })));
  }
  report('(c) incremental fetch vs git fetch', median(oursC), median(cliC), 'git fetch', '  (median of 5, ls-refs + fetch)');

  console.log(
    `memory: peak RSS ${mb(maxRss())} (baseline ${mb(baseline)}); sampled RSS peak during first fetch ${mb(peakB)}; heap now ${mb(process.memoryUsage().heapUsed)}`,
  );
  const a = median(oursA) / median(cliA);
  const c = median(oursC);
  console.log(`targets: (a) ≤ 1.5× → ${a <= 1.5 ? 'met' : 'MISSED'} (${a.toFixed(2)}×); (c) < 200 ms → ${c < 200 ? 'met' : 'MISSED'} (${c.toFixed(0)} ms)`);
} finally {
  clearInterval(sampler);
  server.kill();
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
}
