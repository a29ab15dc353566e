import { describe, expect, it } from 'vitest';
import type { Health, HealthStatus } from '../../src/health/health-status.js';
import { HEALTH_STATUSES, compareHealth, isWorseHealth, worstHealth } from '../../src/health/health-status.js';

const h = (status: HealthStatus, message: string = status): Health => ({ status, message });

describe('health ordering', () => {
  it('ranks Current best and Failed worst, Unknown above NotFound, Terminating and InProgress', () => {
    const shuffled: HealthStatus[] = ['Unknown', 'Failed', 'Current', 'NotFound', 'InProgress', 'Terminating'];
    expect([...shuffled].sort(compareHealth)).toEqual(['Current', 'InProgress', 'Terminating', 'NotFound', 'Unknown', 'Failed']);
    expect([...shuffled].sort(compareHealth)).toEqual(HEALTH_STATUSES);
  });

  it('compares Health results and bare statuses alike', () => {
    expect(compareHealth(h('Failed'), 'InProgress')).toBeGreaterThan(0);
    expect(compareHealth('Current', h('InProgress'))).toBeLessThan(0);
    expect(compareHealth(h('Current', 'a'), h('Current', 'b'))).toBe(0);
  });

  it('isWorseHealth is strict, like gitops-engine IsWorse', () => {
    expect(isWorseHealth('Failed', 'Unknown')).toBe(true);
    expect(isWorseHealth('Unknown', 'Failed')).toBe(false);
    expect(isWorseHealth('InProgress', 'InProgress')).toBe(false);
  });

  it('worstHealth returns the worst entry, keeping the first of equally bad ones', () => {
    const first = h('InProgress', 'Ready: 1/3');
    expect(worstHealth([h('Current'), first, h('InProgress', 'Updated: 0/2')])).toBe(first);
    const failed = h('Failed', 'Progress deadline exceeded');
    expect(worstHealth([h('Current'), h('Unknown'), failed, h('NotFound')])).toBe(failed);
  });

  it('worstHealth of nothing is Current: there is nothing to wait for', () => {
    expect(worstHealth([]).status).toBe('Current');
  });

  it('worstHealth accepts any iterable', () => {
    function* gen() {
      yield h('Current');
      yield h('Terminating');
    }
    expect(worstHealth(gen()).status).toBe('Terminating');
  });
});
