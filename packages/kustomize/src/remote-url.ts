/** A remote `resources:` entry, as kustomize reads it. */
export type RemoteUrl =
  | {
      kind: 'git';
      /** The repository to clone, e.g. `https://github.com/org/repo`. */
      repository: string;
      /** The folder in the repository, without leading or trailing `/` (`''` for its root). */
      path: string;
      /** `?ref=` (or `?version=`): a branch, tag or commit; `undefined` for the default branch. */
      ref?: string;
    }
  | { kind: 'http'; url: string };

const GIT_HOSTS = /^(?:github\.com|gitlab\.com|bitbucket\.org)$/;

/**
 * Parses a remote entry the way kustomize tells a Git repository from a file
 * (`api/internal/git/repospec.go`): `//` separates the repository from the folder in it;
 * `.git` ends a repository; `github.com/org/repo/...`, `gitlab.com/…`, `bitbucket.org/…`
 * name `org/repo` first; `git::` forces Git. Anything else over http(s) is one file.
 * Only https (and http) Git URLs are supported: `ssh://` and `git@host:` throw.
 *
 * @example
 * ```ts
 * parseRemoteUrl('https://github.com/org/repo//deploy/base?ref=v1.2.0');
 * // { kind: 'git', repository: 'https://github.com/org/repo', path: 'deploy/base', ref: 'v1.2.0' }
 * ```
 */
export function parseRemoteUrl(entry: string): RemoteUrl {
  let raw = entry.trim();
  let forceGit = false;
  if (raw.startsWith('git::')) {
    raw = raw.slice(5);
    forceGit = true;
  }
  if (raw.startsWith('ssh://') || /^[\w.-]+@[\w.-]+:/.test(raw)) {
    throw new Error(`${redactUrl(entry)}: ssh Git URLs are not supported; use https`);
  }
  if (!/^https?:\/\//.test(raw)) raw = `https://${raw}`;
  let query = '';
  const q = raw.indexOf('?');
  if (q >= 0) {
    query = raw.slice(q + 1);
    raw = raw.slice(0, q);
  }
  const params = new URLSearchParams(query);
  const ref = params.get('ref') ?? params.get('version') ?? undefined;
  const url = new URL(raw);
  const scheme = `${url.protocol}//`;
  const hostPart = raw.slice(scheme.length);
  const slash = hostPart.indexOf('/');
  const host = slash < 0 ? hostPart : hostPart.slice(0, slash);
  const rest = slash < 0 ? '' : hostPart.slice(slash + 1);

  const split = (repoPath: string, inRepo: string): RemoteUrl => ({
    kind: 'git',
    repository: `${scheme}${host}/${repoPath.replace(/\/+$/, '')}`,
    path: inRepo.replace(/^\/+|\/+$/g, ''),
    ...(ref !== undefined && { ref }),
  });

  const double = rest.indexOf('//');
  if (double >= 0) return split(rest.slice(0, double), rest.slice(double + 2));
  const dotGit = /^(.*?\.git)(?:\/(.*))?$/.exec(rest);
  if (dotGit) return split(dotGit[1]!, dotGit[2] ?? '');
  const underscoreGit = /^(.*?\/_git\/[^/]+)(?:\/(.*))?$/.exec(rest);
  if (underscoreGit) return split(underscoreGit[1]!, underscoreGit[2] ?? '');
  if (GIT_HOSTS.test(url.hostname)) {
    const parts = rest.split('/');
    if (parts.length >= 2) return split(parts.slice(0, 2).join('/'), parts.slice(2).join('/'));
  }
  if (forceGit) return split(rest, '');
  return { kind: 'http', url: entry.trim() };
}

/**
 * The text without the credentials of any URL in it (`https://user:token@host/…` →
 * `https://host/…`), for messages and error data.
 */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/?#\s'"]*@/gi, '$1');
}
