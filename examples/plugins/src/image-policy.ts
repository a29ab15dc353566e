import { formatRef, type Gate, type GateResult, type KubeObject } from '@converge/core';
import { DOCKER_HUB_REGISTRY, imageUsages, parseImageReference } from '@converge/oci';

/** Options of {@link imagePolicy}. */
export interface ImagePolicyOptions {
  /** Registries images may come from, as `host[:port]`; `docker.io` means Docker Hub. */
  allowedRegistries: readonly string[];
  /** Refuse images that are not pinned: no tag, or the tag `latest`, and no digest. @default true */
  forbidLatest?: boolean;
  /** The gate's name in events and errors. @default 'image-policy' */
  name?: string;
}

/** One image the policy refuses, with the objects that run it. */
export interface ImageViolation {
  image: string;
  usedBy: string[];
  reason: string;
}

/** How many violations the message lists; `data.violations` has them all. */
const LISTED = 5;

/**
 * A {@link Gate} that holds back a revision whose pods would run an image from a registry the
 * platform does not allow, or an unpinned `:latest` image. A blocked pass applies and prunes
 * nothing; the gate's message lists the offending images and the objects that use them, and
 * `data.violations` has every one. The block is marked not retryable (`data.retryable: false`,
 * unlike the default for gates): the same revision would be refused again, so a CI step can
 * fail at once and a retry policy that asks `error.retryable` can wait for the next interval.
 *
 * @example
 * ```ts
 * const r = createReconciler({ name: 'shop', source, render, sink, gates: [imagePolicy({ allowedRegistries: ['registry.example.com'] })] });
 * ```
 */
export function imagePolicy(options: ImagePolicyOptions): Gate {
  const normalise = (host: string) => (host === 'docker.io' || host === 'index.docker.io' ? DOCKER_HUB_REGISTRY : host);
  const allowed = new Set(options.allowedRegistries.map(normalise));
  const forbidLatest = options.forbidLatest ?? true;
  return {
    name: options.name ?? 'image-policy',
    async check(objects: readonly KubeObject[], ctx: { revision: string; signal?: AbortSignal }): Promise<GateResult> {
      ctx.signal?.throwIfAborted();
      const violations: ImageViolation[] = [];
      for (const { image, usedBy } of imageUsages(objects)) {
        const reason = violation(image);
        if (reason) violations.push({ image, usedBy: usedBy.map(formatRef), reason });
      }
      if (violations.length === 0) return { ok: true };
      const listed = violations.slice(0, LISTED).map((v) => `${v.image} (${v.usedBy.join(', ')}): ${v.reason}`);
      const more = violations.length > LISTED ? `; and ${violations.length - LISTED} more` : '';
      return {
        ok: false,
        message: `${violations.length} image(s) at ${ctx.revision} break the image policy: ${listed.join('; ')}${more}`,
        data: { violations, retryable: false },
      };
    },
  };

  function violation(image: string): string | undefined {
    let ref;
    try {
      ref = parseImageReference(image);
    } catch {
      return 'not a valid image reference';
    }
    if (!allowed.has(ref.registry)) return `registry ${ref.registry} is not allowed (allowed: ${[...allowed].join(', ')})`;
    if (forbidLatest && ref.digest === undefined && (ref.tag === undefined || ref.tag === 'latest')) {
      return 'unpinned: give it a version tag or a digest instead of latest';
    }
    return undefined;
  }
}
