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

describe('formatPlan formats', () => {
  const p = () => plan({ desired: [cm('new'), secret('s3cr3t-md')], live: [cm('old')], inventory: [] });

  it('markdown has a summary line and the changes in a diff block, Secret values masked', () => {
    const md = formatPlan(p(), { format: 'markdown', title: 'staging' });
    expect(md.split('\n')[0]).toBe('### staging: 1 to create, 1 to update, 0 to prune, 0 unchanged');
    expect(md).toContain('```diff\n+ Secret app/db (create)');
    expect(md).toContain('~ /data/value: "old" → "new"');
    expect(md).not.toContain('s3cr3t');
  });

  it('markdown is cut to maxLength at a line, saying how much was left out', () => {
    const many = Array.from({ length: 400 }, (_, i) => ({ ...cm(`v${i}`), metadata: { name: `cfg-${i}`, namespace: 'app' } }));
    const md = formatPlan(plan({ desired: many, live: [], inventory: [] }), { format: 'markdown', maxLength: 2_000 });
    expect(md.length).toBeLessThanOrEqual(2_000);
    expect(md).toMatch(/… \d+ more lines not shown\n```\n<\/details>\n$/);
  });

  it('json carries the summary and each change with ref and masked patch or object', () => {
    const json = JSON.parse(formatPlan(p(), { format: 'json' })) as { summary: unknown; changes: { action: string; object?: { stringData?: unknown; data?: unknown } }[] };
    expect(json.summary).toEqual({ created: 1, updated: 1, deleted: 0, unchanged: 0 });
    expect(json.changes.map((c) => c.action)).toEqual(['create', 'update']);
    expect(JSON.stringify(json)).not.toContain('s3cr3t');
    expect(JSON.stringify(json)).not.toContain(Buffer.from('s3cr3t-md').toString('base64'));
  });
});
