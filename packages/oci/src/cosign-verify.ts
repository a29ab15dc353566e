import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { OciError } from './oci-error.js';
import type { OciDescriptor, RegistryCallOptions, RegistryClient } from './registry-client.js';

/** How an artifact's signature is checked: cosign signatures made with one of these keys. */
export interface CosignVerification {
  /** PEM public keys (`cosign.pub`, as `cosign generate-key-pair` writes it); a signature by any of them passes. */
  publicKeys: readonly string[];
}

const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const SIGNATURE_TYPE = 'cosign container image signature';
const MAX_PAYLOAD_BYTES = 1024 * 1024;
// Each signature costs a download: a signature manifest may not make a fetch download thousands.
const MAX_SIGNATURES = 100;

interface SimpleSigningPayload {
  critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown }; identity?: { 'docker-reference'?: unknown } };
}

/**
 * Checks that the manifest `digest` of `repository` carries a cosign signature made with one of
 * the given keys, as `cosign verify --key` does for signatures stored the way `cosign sign`
 * stores them: the tag `sha256-<hex>.sig`, whose layers are simple-signing payloads naming the
 * signed digest, each with its signature in the `dev.cosignproject.cosign/signature`
 * annotation. The signature is ECDSA (or RSA, Ed25519: whatever the key is) over the payload,
 * verified with Node's crypto (OpenSSL).
 *
 * @throws {@link OciError} `OCI_SIGNATURE_INVALID` when there is no signature, none verifies with
 * the keys, or the verified payload names another digest; `OCI_INVALID_OPTIONS` for a key that is
 * not a PEM public key.
 */
export async function verifyCosignSignature(
  client: RegistryClient,
  repository: string,
  digest: string,
  verification: CosignVerification,
  options: RegistryCallOptions = {},
): Promise<void> {
  const keys = parseKeys(verification.publicKeys);
  const what = `${client.registry}/${repository}@${digest}`;
  const invalid = (reason: string) => new OciError('OCI_SIGNATURE_INVALID', `${what}: ${reason}; nothing from it is used`, { data: { registry: client.registry, repository, digest } });
  const tag = `${digest.replace(':', '-')}.sig`;
  let signatures;
  try {
    signatures = await client.manifest(repository, tag, options);
  } catch (error) {
    if (error instanceof OciError && error.code === 'OCI_NOT_FOUND') throw invalid(`it is not signed (no ${tag} in the registry)`);
    throw error;
  }
  const listed: (OciDescriptor | null)[] = Array.isArray(signatures.json.layers) ? signatures.json.layers : [];
  const layers = listed.filter((l): l is OciDescriptor => l?.mediaType === SIMPLE_SIGNING && typeof l.annotations?.[SIGNATURE_ANNOTATION] === 'string');
  if (layers.length === 0) throw invalid(`${tag} holds no cosign signature`);
  if (layers.length > MAX_SIGNATURES) throw invalid(`${tag} holds ${layers.length} signatures, more than the ${MAX_SIGNATURES} checked`);
  let signedOther = false;
  for (const layer of layers) {
    const payload = await client.blob(repository, layer.digest, { ...options, maxBytes: MAX_PAYLOAD_BYTES });
    const signature = Buffer.from(layer.annotations![SIGNATURE_ANNOTATION]!, 'base64');
    if (!keys.some((key) => verifies(payload, signature, key))) continue;
    let claims: SimpleSigningPayload;
    try {
      claims = JSON.parse(Buffer.from(payload).toString('utf8')) as SimpleSigningPayload;
    } catch {
      continue;
    }
    if (claims.critical?.type === SIGNATURE_TYPE && claims.critical.image?.['docker-manifest-digest'] === digest) return;
    signedOther = true;
  }
  throw invalid(signedOther ? 'its signature was made for another digest' : `no signature verifies with the ${keys.length === 1 ? 'key' : `${keys.length} keys`} given`);
}

function parseKeys(pems: readonly string[]): KeyObject[] {
  if (pems.length === 0) throw new OciError('OCI_INVALID_OPTIONS', 'verify.publicKeys is empty: give at least one cosign public key');
  return pems.map((pem, index) => {
    try {
      return createPublicKey(pem);
    } catch {
      throw new OciError('OCI_INVALID_OPTIONS', `verify.publicKeys[${index}] is not a PEM public key`, { data: { keyIndex: index } });
    }
  });
}

function verifies(payload: Uint8Array, signature: Buffer, key: KeyObject): boolean {
  try {
    return verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key, signature);
  } catch {
    return false;
  }
}
