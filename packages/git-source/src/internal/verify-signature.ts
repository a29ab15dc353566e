import { GitSignatureError } from '../errors.js';

/**
 * Verifies a commit's detached OpenPGP signature (`gpgsig`) over its signed payload against
 * trusted armored public keys. Throws {@link GitSignatureError} when the commit is unsigned,
 * signed by an untrusted key, or the signature does not match. Returns the signing key id.
 */
export async function verifyCommitSignature(o: {
  commit: string;
  payload: string;
  gpgsig: string | undefined;
  trustedKeys: readonly string[];
}): Promise<string> {
  if (!o.gpgsig) {
    throw new GitSignatureError(`commit ${o.commit} is not signed; signed commits are required (verify is set)`, 'unsigned', {
      data: { commit: o.commit },
    });
  }
  const openpgp = await import('openpgp');
  const verificationKeys = (await Promise.all(o.trustedKeys.map((armoredKeys) => openpgp.readKeys({ armoredKeys })))).flat();
  let signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: o.gpgsig });
  } catch (e) {
    throw new GitSignatureError(`commit ${o.commit} has a signature that is not OpenPGP (e.g. SSH or X.509), which cannot be verified`, 'invalid', {
      cause: e,
      data: { commit: o.commit },
    });
  }
  const keyIds = signature.getSigningKeyIDs().map((id) => id.toHex());
  const trusted = verificationKeys.some((k) => k.getKeys().some((sub) => keyIds.includes(sub.getKeyID().toHex())));
  if (!trusted) {
    throw new GitSignatureError(`commit ${o.commit} is signed by key ${keyIds.join(', ')}, which is not among the trusted keys`, 'untrusted', {
      data: { commit: o.commit, keyIds },
    });
  }
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode(o.payload) });
  const { signatures } = await openpgp.verify({ message, signature, verificationKeys });
  try {
    await signatures[0]!.verified;
  } catch (e) {
    throw new GitSignatureError(`commit ${o.commit}: the signature by ${keyIds.join(', ')} does not match the commit`, 'invalid', {
      cause: e,
      data: { commit: o.commit, keyIds },
    });
  }
  return keyIds[0] ?? '';
}
