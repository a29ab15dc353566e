import { join } from 'node:path';
import { pushArtifact, type OciAuth } from '@converge/oci';
import type { ArtifactArgs } from './args.ts';

/**
 * `converge-push push-artifact`: packs the folder (or its `--path`) into an artifact in Flux's
 * format and pushes it, printing the revision an `ociSource` following the tag will report.
 * Credentials come from the named environment variable or the Docker config, never the command line.
 */
export async function pushArtifactCommand(dir: string, path: string | undefined, artifact: ArtifactArgs): Promise<number> {
  let auth: OciAuth = { dockerConfig: {} };
  if (artifact.username && artifact.passwordEnv) {
    const password = process.env[artifact.passwordEnv];
    if (!password) throw new TypeError(`--registry-password-env ${artifact.passwordEnv}: the variable is not set`);
    auth = { username: artifact.username, password };
  }
  const pushed = await pushArtifact({
    url: artifact.url,
    dir: path ? join(dir, path) : dir,
    auth,
    insecure: artifact.insecure,
    ...(artifact.source && { source: artifact.source }),
    ...(artifact.revision && { revision: artifact.revision }),
  });
  console.log(`converge-push push-artifact: pushed ${pushed.url} (${pushed.size} bytes)`);
  console.log(`revision ${pushed.revision}`);
  return 0;
}
