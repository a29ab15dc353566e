import type { Forge } from './forge.js';
import { ForgeError } from './forge-error.js';
import { giteaForge } from './gitea-forge.js';
import { githubForge } from './github-forge.js';
import { gitlabForge } from './gitlab-forge.js';

/** A forge named by settings, as a configuration file or a command line gives it; see {@link forgeOf}. */
export interface ForgeSettings {
  /** Which provider. */
  kind: Forge['kind'];
  /**
   * Where the forge is: Gitea's address (required for `gitea`), GitLab's host
   * (@default `https://gitlab.com`), or GitHub Enterprise's API root (@default `https://api.github.com`).
   */
  url?: string;
  /** `owner/name` (GitLab: the project path). */
  repository: string;
  /** The access token; never appears in errors. */
  token: string;
}

/**
 * The provider `settings.kind` names — `giteaForge`, `githubForge` or `gitlabForge` — for
 * programs that read the forge from a configuration file or flags.
 *
 * @throws {@link ForgeError} `FORGE_INVALID_OPTIONS` when Gitea has no `url`, the token is
 * empty, or the repository is not `owner/name`.
 *
 * @example
 * ```ts
 * const forge = forgeOf({ kind: 'gitea', url: 'https://gitea.example.com', repository: 'acme/deploy', token: process.env['FORGE_TOKEN'] ?? '' });
 * ```
 */
export function forgeOf(settings: ForgeSettings): Forge {
  const { kind, url, repository, token } = settings;
  switch (kind) {
    case 'gitea':
      if (!url) throw new ForgeError('FORGE_INVALID_OPTIONS', 'gitea: the url of the Gitea server is required', { data: { forge: 'gitea' } });
      return giteaForge({ url, repository, token });
    case 'github':
      return githubForge({ repository, token, ...(url && { baseUrl: url }) });
    case 'gitlab':
      return gitlabForge({ project: repository, token, ...(url && { host: url }) });
  }
}
