import { describe, expect, it } from 'vitest';
import { assignApps, rendezvousOwner, type ShardMember } from '../../src/rendezvous.js';

const apps = Array.from({ length: 1000 }, (_, i) => ({ name: `app-${i}` }));
const members = (n: number): ShardMember[] => Array.from({ length: n }, (_, i) => ({ id: `agent-${i}` }));
const counts = (assignment: Map<string, string | undefined>): Map<string | undefined, number> => {
  const out = new Map<string | undefined, number>();
  for (const owner of assignment.values()) out.set(owner, (out.get(owner) ?? 0) + 1);
  return out;
};
const moved = (a: Map<string, string | undefined>, b: Map<string, string | undefined>): string[] => [...a].filter(([app, owner]) => b.get(app) !== owner).map(([app]) => app);

describe('rendezvous assignment', () => {
  it('is the same whatever order the members are listed in', () => {
    const m = members(5);
    expect(assignApps(apps, m)).toEqual(assignApps(apps, [...m].reverse()));
  });

  it('spreads 1000 apps over 4 members within 20 % of an even share', () => {
    const c = counts(assignApps(apps, members(4)));
    expect([...c.keys()].sort()).toEqual(['agent-0', 'agent-1', 'agent-2', 'agent-3']);
    for (const n of c.values()) expect(Math.abs(n - 250)).toBeLessThan(50);
  });

  it('a joining member takes only its share, all from the others; nothing else moves', () => {
    const before = assignApps(apps, members(4));
    const after = assignApps(apps, members(5));
    const changed = moved(before, after);
    expect(changed.every((app) => after.get(app) === 'agent-4')).toBe(true);
    expect(changed.length).toBe(counts(after).get('agent-4'));
    expect(Math.abs(changed.length - 200)).toBeLessThan(50);
  });

  it('a leaving member gives up only its own apps, spread over the others', () => {
    const before = assignApps(apps, members(5));
    const after = assignApps(apps, members(5).filter((m) => m.id !== 'agent-2'));
    const changed = moved(before, after);
    expect(changed.every((app) => before.get(app) === 'agent-2')).toBe(true);
    expect(changed.length).toBe(counts(before).get('agent-2'));
    const receivers = counts(new Map(changed.map((app) => [app, after.get(app)])));
    expect(receivers.size).toBe(4);
  });

  it('a pinned app goes only to members serving its shard label; unpinned apps never go there', () => {
    const m: ShardMember[] = [...members(3), { id: 'iso-0', shard: 'isolated' }, { id: 'iso-1', shard: 'isolated' }];
    for (let i = 0; i < 50; i++) {
      expect(['iso-0', 'iso-1']).toContain(rendezvousOwner({ name: `app-${i}`, shard: 'isolated' }, m));
      expect(['agent-0', 'agent-1', 'agent-2']).toContain(rendezvousOwner({ name: `app-${i}` }, m));
    }
    expect(rendezvousOwner({ name: 'x', shard: 'nobody-serves-this' }, m)).toBeUndefined();
    expect(rendezvousOwner({ name: 'x' }, [])).toBeUndefined();
  });
});
