import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatPlan } from '../../src/format-plan.js';
import { maskSecret } from '../../src/mask.js';
import type { KubeObject } from '../../src/object.js';
import { inheritOrigin } from '../../src/origin.js';
import { plan } from '../../src/plan.js';
import { redactError, sensitiveValues } from '../../src/redact.js';
import { markSensitive, sensitivePathsOf, touchesSensitive } from '../../src/sensitive.js';

const TOKEN = 'tok-9f2c41a7e6';
const app = (token: string): KubeObject => ({
  apiVersion: 'example.com/v1',
  kind: 'App',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { replicas: 2, auth: { token, user: 'admin' }, tags: ['a', `${token}-tag`] },
});

describe('markSensitive', () => {
  it('keeps its marks beside the object and across inheritOrigin copies', () => {
    const obj = markSensitive(app(TOKEN), ['/spec/auth/token']);
    markSensitive(obj, ['/spec/tags/1']);
    expect(JSON.stringify(obj)).not.toContain('masked');
    expect([...sensitivePathsOf(obj)]).toEqual(['/spec/auth/token', '/spec/tags/1']);
    const copy = inheritOrigin(structuredClone(obj), obj);
    expect([...sensitivePathsOf(copy)]).toEqual(['/spec/auth/token', '/spec/tags/1']);
    expect(sensitivePathsOf(app(TOKEN)).size).toBe(0);
  });

  it('rejects what is not a JSON pointer', () => {
    expect(() => markSensitive(app(TOKEN), ['spec.auth'])).toThrow(/not a JSON pointer/);
  });

  it('says which patch paths touch a marked value, above or below it', () => {
    const obj = markSensitive(app(TOKEN), ['/spec/auth']);
    expect(touchesSensitive(obj, '/spec/auth/token')).toBe(true);
    expect(touchesSensitive(obj, '/spec')).toBe(true);
    expect(touchesSensitive(obj, '/spec/authority')).toBe(false);
    expect(touchesSensitive(obj, '/spec/replicas')).toBe(false);
  });

  it('makes maskSecret mask marked values of any kind, keeping keys', () => {
    const masked = maskSecret(markSensitive(app(TOKEN), ['/spec/auth', '/spec/tags/1']));
    expect(JSON.stringify(masked)).not.toContain(TOKEN);
    expect(masked.spec).toEqual({ replicas: 2, auth: { token: '*** (masked)', user: '*** (masked)' }, tags: ['a', '*** (masked)'] });
    expect(maskSecret(app(TOKEN))).toEqual(app(TOKEN));
  });

  it('makes sensitiveValues list marked values, so redactError scrubs them from errors and causes', () => {
    const values = sensitiveValues([markSensitive(app(TOKEN), ['/spec/auth/token'])]);
    expect(values).toContain(TOKEN);
    expect(values).toContain(Buffer.from(TOKEN).toString('base64'));
    expect(values).not.toContain('admin');
    const error = new Error(`apply failed: field token=${TOKEN}`, { cause: new Error(`server said ${Buffer.from(TOKEN).toString('base64')}`) });
    expect(inspect(redactError(error, values), { depth: 5 })).not.toMatch(new RegExp(`${TOKEN}|${Buffer.from(TOKEN).toString('base64')}`));
    expect(sensitiveValues([app(TOKEN)]).size).toBe(0);
  });

  it('makes formatPlan mask marked values in created objects and in update patches, in every format', () => {
    const desired = markSensitive(app(TOKEN), ['/spec/auth/token', '/spec/tags/1']);
    const created = plan({ desired: [desired], live: [], inventory: [] });
    const updated = plan({ desired: [markSensitive(app(TOKEN), ['/spec/auth/token', '/spec/tags/1'])], live: [app('tok-old-value-1')], inventory: [] });
    for (const format of ['text', 'markdown', 'json'] as const) {
      for (const p of [created, updated]) {
        const text = formatPlan(p, { format });
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain('tok-old-value-1');
        expect(text).toContain('*** (masked)');
      }
    }
    expect(formatPlan(updated)).toContain('~ /spec/auth/token: *** (masked) → *** (masked)');
    expect(formatPlan(created)).toContain('user: admin');
  });
});
