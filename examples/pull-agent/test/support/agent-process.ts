// The agent (src/main.ts) as a separate OS process, the way a pod of the chart's Deployment runs
// it, and its JSON log lines: what the in-cluster and replica fault tests drive and read.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, type SupervisedProcess } from '@converge/core/testing';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'main.ts');

/** One line of the agent's JSON log. */
export type LogLine = Record<string, any>;

/** One agent process. */
export interface AgentProcess {
  /** Its POD_NAME, also the process's name in messages. */
  name: string;
  proc: SupervisedProcess;
  /** The JSON lines it has logged so far, in order. */
  lines(): Promise<LogLine[]>;
  /** The first logged line that matches; rejects with the log's tail once the process exits or `timeoutMs` passes. @default 30_000 ms */
  waitFor(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Signals the whole process group: the agent and any worker it runs. */
  signal(signal: NodeJS.Signals): void;
}

/** Options of {@link startAgentProcess}. */
export interface StartAgentProcessOptions {
  /** POD_NAME. */
  name: string;
  /** The agent's arguments (`--config …` and how it finds the cluster). */
  args: string[];
  /** Working directory and HOME. */
  home: string;
  /** Its log file. */
  logFile: string;
  /** More environment; PATH, HOME and POD_NAME are set, nothing else of this process's is passed on. */
  env?: Record<string, string>;
}

/** Starts `node src/main.ts` with only the environment a container would have. */
export async function startAgentProcess(o: StartAgentProcessOptions): Promise<AgentProcess> {
  const proc = await startProcess({
    name: o.name,
    command: process.execPath,
    args: [MAIN, ...o.args],
    logFile: o.logFile,
    cwd: o.home,
    env: { PATH: process.env['PATH'], HOME: o.home, POD_NAME: o.name, ...o.env },
  });
  const lines = async (): Promise<LogLine[]> =>
    (await readFile(o.logFile, 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  return {
    name: o.name,
    proc,
    lines,
    async waitFor(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = (await lines()).find(match);
        if (found) return found;
        if (proc.exit() || Date.now() > deadline) throw new Error(`${o.name}: no matching log line (${proc.exit() ? 'exited' : 'timed out'}); log:\n${await proc.logTail(40)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    signal: (signal) => process.kill(-proc.pid, signal),
  };
}
