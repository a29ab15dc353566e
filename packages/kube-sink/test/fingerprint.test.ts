import type { KubeObject } from '@converge/core';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../src/internal/fingerprint.js';

const config = (data: Record<string, string>, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'web', labels: { app: 'web' }, ...extra },
  data,
});

describe('fingerprint', () => {
  it('is a digest of what the object declares, not the content itself: a sink keeps one or two per managed object', () => {
    const big = config({ 'settings.yaml': 'x'.repeat(10_000) });
    expect(fingerprint(big)).toHaveLength(44);
    expect(fingerprint(big)).not.toContain('settings');
  });

  it('moves with declared content, not with status, key order or server bookkeeping', () => {
    const base = fingerprint(config({ a: '1', b: '2' }));
    expect(fingerprint(config({ b: '2', a: '1' }))).toBe(base);
    const bookkept = config({ a: '1', b: '2' }, { resourceVersion: '42', uid: 'u', generation: 3, creationTimestamp: 't', managedFields: [{ manager: 'kubectl' }] });
    expect(fingerprint({ ...bookkept, status: { phase: 'Ready' } })).toBe(base);
    expect(fingerprint(config({ a: '1', b: '3' }))).not.toBe(base);
    expect(fingerprint(config({ a: '1', b: '2' }, { labels: { app: 'api' } }))).not.toBe(base);
  });
});
