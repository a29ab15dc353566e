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

/** The resident memory of process `pid` in bytes (Linux), or 0 once it has exited. */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kib ?? 0) * 1024;
  } catch {
    return 0;
  }
}
