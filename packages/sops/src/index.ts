export { sopsDecrypt } from './sops-decrypt.js';
export type { SopsDecryptOptions } from './sops-decrypt.js';
export { sopsDecryptFiles } from './sops-decrypt-files.js';
export type { SopsDecryptFilesOptions } from './sops-decrypt-files.js';
export { decryptSopsFile } from './decrypt-sops-file.js';
export type { SopsKeys, DecryptSopsFileOptions, DecryptedSopsFile, SopsFormat } from './decrypt-sops-file.js';
export { SopsError } from './sops-error.js';
export type { SopsErrorCode } from './sops-error.js';
