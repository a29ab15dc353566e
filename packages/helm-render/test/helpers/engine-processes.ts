import { readdirSync, readFileSync } from 'node:fs';

/**
 * The engine processes (wasm-host's engine-process.mjs) this test process started that still
 * run, from /proc (Linux): also those a host no longer names in `stats()`, being started or
 * killed and not yet exited. A zombie does not count.
 */
export function enginePids(): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('engine-process.mjs')) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
