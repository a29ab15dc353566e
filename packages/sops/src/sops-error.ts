import { ConvergeError, type ConvergeErrorOptions } from '@converge/core';

/**
 * The failure kinds of `@converge/sops`, as `ConvergeError.code` values. Every one names the
 * file (`data.position.file`); none ever carries key material or plaintext.
 *
 * - `SOPS_NO_MATCHING_KEY` — none of the keys given can open the file: `data.recipients` lists
 *   the file's age recipients and PGP fingerprints, `data.tried` the recipients/fingerprints of
 *   the keys that were given.
 * - `SOPS_KEY_FAILED` — a given key is the file's recipient but could not unwrap the data key
 *   (a damaged `enc` block, a locked PGP key); `data.recipient` names it.
 * - `SOPS_MAC_MISMATCH` — the file was changed after encryption: the MAC over its values does
 *   not match, or the MAC itself does not decrypt.
 * - `SOPS_DECRYPT_FAILED` — a value does not decrypt (tampered, or moved to another key: the
 *   path is authenticated); `data.path` names where.
 * - `SOPS_UNSUPPORTED_KEY_TYPE` — the file can only be opened by key types this package does not
 *   handle (AWS/GCP/Azure KMS, HashiCorp Vault, HuaweiCloud KMS); age and OpenPGP are supported.
 * - `SOPS_UNSUPPORTED` — the file uses a SOPS feature this package does not implement
 *   (`encrypted_comment_regex`, `unencrypted_comment_regex`, an unknown value type).
 * - `SOPS_MALFORMED` — the `sops` metadata or the file itself is not what sops writes.
 * - `SOPS_INVALID_KEY` — a key passed in `ageIdentities` or `pgpPrivateKeys` cannot be read;
 *   `data.keyIndex` says which one.
 */
export type SopsErrorCode =
  | 'SOPS_NO_MATCHING_KEY'
  | 'SOPS_KEY_FAILED'
  | 'SOPS_MAC_MISMATCH'
  | 'SOPS_DECRYPT_FAILED'
  | 'SOPS_UNSUPPORTED_KEY_TYPE'
  | 'SOPS_UNSUPPORTED'
  | 'SOPS_MALFORMED'
  | 'SOPS_INVALID_KEY';

/**
 * Every error `@converge/sops` reports; `code` tells the kind apart (see {@link SopsErrorCode}).
 * A failed decryption fails the render, so the pass fails and nothing is pruned.
 *
 * @example
 * ```ts
 * try { await render({ artifact }); } catch (e) {
 *   if (e instanceof SopsError && e.code === 'SOPS_NO_MATCHING_KEY') console.error(e.data.recipients);
 * }
 * ```
 */
export class SopsError extends ConvergeError {
  declare readonly code: SopsErrorCode;

  constructor(code: SopsErrorCode, message: string, options: ConvergeErrorOptions = {}) {
    super(code, message, options);
  }
}
