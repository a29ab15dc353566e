// The pull agent reporting to a real Gitea: the spec folder and the manifests live in a Gitea
// repository, a real etcd + kube-apiserver receives them, and the agent's `forge` section sets
// each application's deployment result as a commit status on the deployed commit.
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CoreV1Api } from '@kubernetes/client-node';
import { giteaForge, type Forge } from '@converge/forge';
import { startGitea, type TestGitea } from '@converge/forge/testing';
import { kubeSink, type KubeSink } from '@converge/kube-sink';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../src/agent.ts';
import { loadAgentConfig } from '../src/config.ts';
import { jsonLogger } from '../src/logger.ts';

const id = randomUUID().slice(0, 6);
const fleetName = `cs-${id}`;
const namespace = `cs-web-${id}`;
const context = `converge/${fleetName}-web`;

const env = await useTestEnv();
const core = env.kubeConfig.makeApiClient(CoreV1Api);

let gitea: TestGitea;
let repository: string;
let forge: Forge;
let first: string;
let sink: KubeSink;
let agent: Agent;
let dir: string;
const logLines: string[] = [];

const service = (port: number) => `apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec:\n  selector: { app: web }\n  ports: [{ port: ${port} }]\n`;
const configFile = (forgeSection: string) =>
  `name: ${fleetName}
apps: { url: ${gitea.cloneUrl(repository)}, ref: { branch: main }, path: apps }
intervalMs: 3600000        # an hour: within the test, only POST /webhook explains a pass
listen: 127.0.0.1:0
${forgeSection}
`;

beforeAll(async () => {
  gitea = await startGitea();
  repository = await gitea.createRepo('environments');
  forge = giteaForge({ url: gitea.url, repository, token: gitea.admin.token });
  first = await gitea.commitFiles(repository, { 'apps/web.yaml': `source: { path: web }\nnamespace: ${namespace}\n`, 'web/service.yaml': service(80) }, 'web');
  sink = kubeSink({ kubeConfig: env.kubeConfig });
  dir = await mkdtemp(join(tmpdir(), 'pull-agent-forge-'));
  await writeFile(join(dir, 'agent.yaml'), configFile(`forge: { kind: gitea, url: ${gitea.url}, repository: ${repository}, tokenEnv: TEST_FORGE_TOKEN }`));
  const config = await loadAgentConfig(join(dir, 'agent.yaml'), { TEST_FORGE_TOKEN: gitea.admin.token });
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  agent = await startAgent(config, { sink, log: jsonLogger(logStream) });
});

afterAll(async () => {
  await agent?.stop();
  await sink?.close();
  await gitea?.stop();
});

const statusOf = async (sha: string) => (await forge.listCommitStatuses(sha)).find((s) => s.context === context);
const eventually = (sha: string) => expect.poll(() => statusOf(sha), { timeout: 60_000, interval: 250 });
/** What a push webhook does: the spec folder and every application poll now. */
const pushed = () => fetch(`${agent.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

describe('pull agent reporting commit statuses to a real Gitea', () => {
  it('a deployed commit turns green; a failed deployment shows as a failed status with the reason; the fix turns it green', async () => {
    await eventually(first).toMatchObject({ state: 'success', description: expect.stringMatching(/^in sync: 2 created/) });

    const broken = await gitea.commitFiles(repository, { 'web/service.yaml': service(99999) }, 'a port out of range');
    expect((await pushed()).status).toBe(202);
    await eventually(broken).toMatchObject({ state: 'failure', description: expect.stringMatching(/^KUBE_INVALID: .*Service .*web.*99999/) });
    // The cluster keeps the last good revision.
    expect((await core.readNamespacedService({ name: 'web', namespace })).spec?.ports?.[0]?.port).toBe(80);

    const fixed = await gitea.commitFiles(repository, { 'web/service.yaml': service(8080) }, 'fix the port');
    expect((await pushed()).status).toBe(202);
    await eventually(fixed).toMatchObject({ state: 'success', description: expect.stringMatching(/^in sync: 0 created, 1 updated/) });
    expect((await core.readNamespacedService({ name: 'web', namespace })).spec?.ports?.[0]?.port).toBe(8080);
    // The broken commit keeps its failure; every write is logged, the token never.
    expect((await statusOf(broken))?.state).toBe('failure');
    expect(logLines.filter((l) => l.includes('"commit status set"')).length).toBeGreaterThanOrEqual(4);
    expect(logLines.join('\n')).not.toContain(gitea.admin.token);
  });

  it('refuses a forge section without its token variable, or without a url for gitea, naming the field', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, configFile(`forge: { kind: gitea, url: ${gitea.url}, repository: ${repository}, tokenEnv: TEST_FORGE_TOKEN }`));
    await expect(loadAgentConfig(path, {})).rejects.toThrow(/forge\.tokenEnv: environment variable TEST_FORGE_TOKEN is not set/);
    await writeFile(path, configFile(`forge: { kind: gitea, repository: ${repository}, tokenEnv: TEST_FORGE_TOKEN }`));
    await expect(loadAgentConfig(path, { TEST_FORGE_TOKEN: 't' })).rejects.toThrow(/forge\.url is required for gitea/);
    await writeFile(path, configFile(`forge: { kind: bitbucket, repository: ${repository}, tokenEnv: TEST_FORGE_TOKEN }`));
    await expect(loadAgentConfig(path, { TEST_FORGE_TOKEN: 't' })).rejects.toThrow(/forge\.kind must be gitea, github, gitlab/);
  });
});
