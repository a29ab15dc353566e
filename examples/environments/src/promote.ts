import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { git, inClone } from './git-cli.ts';

/**
 * Branch per environment: promotes by merging the `from` branch into the `to` branch and
 * pushing it, exactly as `git merge staging && git push` in a clone would. Resolves with the
 * new tip of `to`, which the `to` environment's reconciler then applies.
 */
export async function promoteBranch(options: { repoUrl: string; from: string; to: string }): Promise<string> {
  const { repoUrl, from, to } = options;
  return inClone(repoUrl, to, async (dir) => {
    await git(dir, ['merge', '--no-ff', '--no-edit', '-m', `promote ${from} to ${to}`, `origin/${from}`]);
    await git(dir, ['push', '-q', 'origin', to]);
    return git(dir, ['rev-parse', 'HEAD']);
  });
}

/**
 * Folder per environment, step 1: opens a merge request — a branch off `base` that copies the
 * given files from the `from` folder to the `to` folder — and pushes it. Resolves with the
 * branch name. Nothing is deployed yet: reconcilers follow `base` only.
 */
export async function openPromotion(options: { repoUrl: string; base?: string; from: string; to: string; files: readonly string[]; branch?: string }): Promise<string> {
  const { repoUrl, from, to, files } = options;
  const base = options.base ?? 'main';
  const branch = options.branch ?? `promote/${from.split('/').at(-1)}-to-${to.split('/').at(-1)}`;
  await inClone(repoUrl, base, async (dir) => {
    await git(dir, ['switch', '-q', '-c', branch]);
    for (const file of files) {
      await mkdir(dirname(join(dir, to, file)), { recursive: true });
      await copyFile(join(dir, from, file), join(dir, to, file));
    }
    await git(dir, ['add', '--', ...files.map((f) => join(to, f))]);
    await git(dir, ['commit', '-q', '-m', `promote ${files.join(', ')} from ${from} to ${to}`]);
    await git(dir, ['push', '-q', 'origin', branch]);
  });
  return branch;
}

/** Folder per environment, step 2: merges the merge request's branch into `base` and pushes. Resolves with the new tip of `base`. */
export async function mergePromotion(options: { repoUrl: string; branch: string; base?: string }): Promise<string> {
  const base = options.base ?? 'main';
  return inClone(options.repoUrl, base, async (dir) => {
    await git(dir, ['merge', '--no-ff', '--no-edit', '-m', `Merge branch '${options.branch}'`, `origin/${options.branch}`]);
    await git(dir, ['push', '-q', 'origin', base]);
    return git(dir, ['rev-parse', 'HEAD']);
  });
}
