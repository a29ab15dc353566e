import { parseArgs } from 'node:util';

/** Where `push-artifact` pushes, and what it annotates. */
export interface ArtifactArgs {
  /** `oci://<registry>/<repository>:<tag>`. */
  url: string;
  source?: string;
  revision?: string;
  /** The user name for the registry; the password comes from `passwordEnv`. */
  username?: string;
  /** The name of the environment variable holding the registry password or token (never the value). */
  passwordEnv?: string;
  /** Plain HTTP to the registry (loopback only). */
  insecure: boolean;
}

/** Where `comment` posts the plan. */
export interface CommentArgs {
  forge: 'gitea' | 'github' | 'gitlab';
  /** The forge's address: Gitea's URL (required), GitLab's host, GitHub's API root (Enterprise). */
  url?: string;
  /** `owner/name` (GitLab: the project path). */
  repository: string;
  /** The merge request's number (`#12`, GitLab's `!12`). */
  mergeRequest: number;
  /** The name of the environment variable holding the forge token (never the value). */
  tokenEnv: string;
}

/** What `converge-push` was asked to do. */
export interface PushArgs {
  command: 'diff' | 'apply' | 'comment' | 'push-artifact';
  /** For `push-artifact`. */
  artifact?: ArtifactArgs;
  /** For `comment`. */
  comment?: CommentArgs;
  name: string;
  dir?: string;
  repo?: string;
  /** The name of the environment variable holding a token for `--repo` (never the token itself). */
  gitTokenEnv?: string;
  ref: Record<string, string>;
  path?: string;
  render: { type: 'yaml' } | { type: 'helm'; chart: string; valuesFiles: string[] };
  namespace?: string;
  vars: Record<string, string>;
  kubeconfig?: string;
  prune: boolean;
  dryRun: boolean;
  /** Allow this run to prune beyond the prune budget (more than half of what it recorded). */
  approvePrune: boolean;
  waitTimeoutMs: number;
}

export const USAGE = `usage: converge-push <diff|apply> (--dir <folder> | --repo <git url> [--branch b | --tag t | --commit sha]) [options]
       converge-push comment (--dir … | --repo …) [options] --forge <gitea|github|gitlab> --forge-repo <owner/name> --merge-request <n> --forge-token-env <VAR>
       converge-push push-artifact --dir <folder> [--path <folder>] --to oci://<registry>/<repo>:<tag> [artifact options]

  --git-token-env <VAR>  environment variable holding a token for --repo (HTTP basic password / bearer)
  --path <folder>        sub-folder of the repository or folder holding the manifests
  --helm-chart <path>    render a Helm chart (path inside the folder/repository) instead of plain YAML
  --values <file>        Helm values file inside the folder/repository (repeatable)
  --name <name>          reconciler name: names the inventory of what this step owns (default: push)
  --namespace <ns>       namespace for namespaced objects that set none
  --var KEY=VALUE        variable for \${KEY} substitution in YAML (repeatable)
  --kubeconfig <file>    cluster to apply to (default: $KUBECONFIG, then ~/.kube/config)
  --no-prune             keep objects that were removed from the manifests
  --approve-prune        allow pruning more than half of the recorded objects (more than 10) in this run;
                         without it such a run stops before changing anything (a wrong --path or branch)
  --dry-run              apply: validate on the server (dryRun=All) without persisting
  --wait-timeout <s>     apply: seconds to wait for health (default 300; 0 = do not wait)

comment renders and diffs like diff, then posts the plan (Markdown, Secret values masked) on a merge request, or
updates the comment it posted before for the same --name:
  --forge <kind>         gitea, github or gitlab
  --forge-url <url>      Gitea's address (required for gitea); GitLab's host; GitHub Enterprise's API root
  --forge-repo <repo>    owner/name (GitLab: the project path)
  --merge-request <n>    the merge request's number
  --forge-token-env <VAR>  environment variable holding the forge token

push-artifact packs --dir (or its --path) in Flux's artifact format and pushes it, for ociSource or Flux to deploy:
  --to <oci url>         where to push, with the tag: oci://ghcr.io/acme/manifests:main
  --source <url>         annotated as org.opencontainers.image.source (e.g. the Git URL)
  --revision <rev>       annotated as org.opencontainers.image.revision (e.g. main@sha1:<commit>)
  --registry-user <u>    registry user name; the password or token comes from --registry-password-env
  --registry-password-env <VAR>  environment variable holding it (default: read ~/.docker/config.json)
  --insecure-registry    plain HTTP to the registry (loopback test registries only)

exit codes: diff 0 = no changes, 2 = changes; apply, comment and push-artifact 0 = done (and healthy); 1 = failed; 64 = bad usage`;

/** Parses the command line; throws a `TypeError` with the usage for bad input. */
export function parsePushArgs(argv: string[]): PushArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      repo: { type: 'string' },
      'git-token-env': { type: 'string' },
      branch: { type: 'string' },
      tag: { type: 'string' },
      commit: { type: 'string' },
      path: { type: 'string' },
      'helm-chart': { type: 'string' },
      values: { type: 'string', multiple: true },
      name: { type: 'string', default: 'push' },
      namespace: { type: 'string' },
      var: { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
      'no-prune': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'approve-prune': { type: 'boolean', default: false },
      'wait-timeout': { type: 'string', default: '300' },
      to: { type: 'string' },
      source: { type: 'string' },
      revision: { type: 'string' },
      'registry-user': { type: 'string' },
      'registry-password-env': { type: 'string' },
      'insecure-registry': { type: 'boolean', default: false },
      forge: { type: 'string' },
      'forge-url': { type: 'string' },
      'forge-repo': { type: 'string' },
      'merge-request': { type: 'string' },
      'forge-token-env': { type: 'string' },
    },
  });
  const command = positionals[0];
  if (command !== 'diff' && command !== 'apply' && command !== 'comment' && command !== 'push-artifact') {
    throw new TypeError(`expected diff, apply, comment or push-artifact, got ${JSON.stringify(command ?? '')}`);
  }
  const comment = command === 'comment' ? commentArgs(values) : undefined;
  if (command !== 'comment' && (values.forge || values['forge-url'] || values['forge-repo'] || values['merge-request'] || values['forge-token-env'])) throw new TypeError('--forge, --forge-url, --forge-repo, --merge-request and --forge-token-env go with comment');
  if (command === 'push-artifact' && (!values.to || !values.dir)) throw new TypeError('push-artifact needs --dir and --to oci://<registry>/<repository>:<tag>');
  if (command !== 'push-artifact' && values.to) throw new TypeError('--to goes with push-artifact');
  if (!values['registry-user'] !== !values['registry-password-env']) throw new TypeError('--registry-user and --registry-password-env go together');
  if (!values.dir === !values.repo) throw new TypeError('give exactly one of --dir and --repo');
  if (values['git-token-env'] && !values.repo) throw new TypeError('--git-token-env goes with --repo');
  const waitSeconds = Number(values['wait-timeout']);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new TypeError('--wait-timeout must be a number of seconds');
  const ref: Record<string, string> = {};
  for (const kind of ['branch', 'tag', 'commit'] as const) if (values[kind]) ref[kind] = values[kind];
  const vars: Record<string, string> = {};
  for (const pair of values.var ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new TypeError(`--var ${pair}: expected KEY=VALUE`);
    vars[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    command,
    ...(values.to && {
      artifact: {
        url: values.to,
        ...(values.source && { source: values.source }),
        ...(values.revision && { revision: values.revision }),
        ...(values['registry-user'] && { username: values['registry-user'] }),
        ...(values['registry-password-env'] && { passwordEnv: values['registry-password-env'] }),
        insecure: values['insecure-registry'],
      },
    }),
    ...(comment && { comment }),
    name: values.name,
    ...(values.dir && { dir: values.dir }),
    ...(values.repo && { repo: values.repo }),
    ...(values['git-token-env'] && { gitTokenEnv: values['git-token-env'] }),
    ref,
    ...(values.path && { path: values.path }),
    render: values['helm-chart'] ? { type: 'helm', chart: values['helm-chart'], valuesFiles: values.values ?? [] } : { type: 'yaml' },
    ...(values.namespace && { namespace: values.namespace }),
    vars,
    ...(values.kubeconfig && { kubeconfig: values.kubeconfig }),
    prune: !values['no-prune'],
    dryRun: values['dry-run'],
    approvePrune: values['approve-prune'],
    waitTimeoutMs: waitSeconds * 1000,
  };
}

function commentArgs(values: { forge?: string; 'forge-url'?: string; 'forge-repo'?: string; 'merge-request'?: string; 'forge-token-env'?: string }): CommentArgs {
  const { forge, 'forge-url': url, 'forge-repo': repository, 'merge-request': number, 'forge-token-env': tokenEnv } = values;
  if (forge !== 'gitea' && forge !== 'github' && forge !== 'gitlab') throw new TypeError(`comment needs --forge gitea, github or gitlab, got ${JSON.stringify(forge ?? '')}`);
  if (forge === 'gitea' && !url) throw new TypeError('--forge gitea needs --forge-url');
  if (!repository) throw new TypeError('comment needs --forge-repo owner/name');
  if (!tokenEnv) throw new TypeError('comment needs --forge-token-env <VAR> (the variable holding the forge token)');
  const mergeRequest = Number(number);
  if (!Number.isSafeInteger(mergeRequest) || mergeRequest <= 0) throw new TypeError(`--merge-request must be a merge request number, got ${JSON.stringify(number ?? '')}`);
  return { forge, ...(url && { url }), repository, mergeRequest, tokenEnv };
}
