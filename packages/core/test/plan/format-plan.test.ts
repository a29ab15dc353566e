import { describe, expect, it } from 'vitest';
import { formatPlan } from '../../src/format-plan.js';
import type { KubeObject } from '../../src/object.js';
import { refOf } from '../../src/object.js';
import { plan } from '../../src/plan.js';

const secret = (password: string): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'app' }, stringData: { password } });
const cm = (value: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'app' }, data: { value } });
const asLive = (o: KubeObject): KubeObject => {
  const live = structuredClone(o) as KubeObject & { stringData?: Record<string, string> };
  if (live.stringData) {
    live['data'] = Object.fromEntries(Object.entries(live.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    delete live.stringData;
  }
  return live;
};

describe('formatPlan', () => {
  it('shows field changes as old → new', () => {
    const text = formatPlan(plan({ desired: [cm('new')], live: [cm('old')], inventory: [] }));
    expect(text).toBe('~ ConfigMap app/cfg (update)\n    ~ /data/value: "old" → "new"');
  });

  it('masks Secret values in created and updated objects and never prints them', () => {
    const created = formatPlan(plan({ desired: [secret('s3cr3t-create')], live: [], inventory: [] }));
    const updated = formatPlan(plan({ desired: [secret('s3cr3t-new')], live: [asLive(secret('s3cr3t-old'))], inventory: [] }));
    expect(created).toContain('+ Secret app/db (create)');
    expect(updated).toContain('~ /data/password: *** (masked) → *** (masked)');
    for (const text of [created, updated]) {
      expect(text).not.toMatch(/s3cr3t/);
      expect(text).not.toContain(Buffer.from('s3cr3t-new').toString('base64'));
      expect(text).not.toContain(Buffer.from('s3cr3t-old').toString('base64'));
    }
  });

  it('lists deletes and, when asked, unchanged objects', () => {
    const gone = cm('x');
    const text = formatPlan(plan({ desired: [secret('a')], live: [gone, asLive(secret('a'))], inventory: [refOf(gone)], prune: true }), { showUnchanged: true });
    expect(text).toBe('  Secret app/db (unchanged)\n- ConfigMap app/cfg (delete)');
  });
});
