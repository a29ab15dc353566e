import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm run demo', () => {
  it('tells the whole story on a real git server and control plane: sync, change, drift reverted, prune', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const { stdout } = await run(process.execPath, [main], { timeout: 230_000, maxBuffer: 16 << 20 });
    const story = stdout.split('\n');
    const after = (step: string) => story.slice(story.findIndex((l) => l.includes(step)));

    expect(after('first sync').join('\n')).toMatch(/\+ created Namespace shop[\s\S]*\+ created Deployment\.apps shop\/cache[\s\S]*✓ in sync/);
    expect(after('replicas 2 → 3').join('\n')).toMatch(/~ updated Deployment\.apps shop\/web/);
    expect(after('behind the agent').join('\n')).toMatch(/! drift\s+ConfigMap shop\/web-config \(seen via watch\)[\s\S]*~ updated ConfigMap shop\/web-config/);
    expect(after('deletes deploy/worker.yaml').join('\n')).toMatch(/- pruned\s+Deployment\.apps shop\/worker/);
    expect(stdout).toMatch(/kubectl --kubeconfig \S+ get deploy,svc,cm -n shop/);
    expect(stdout).not.toContain('demo failed');
  });
});
