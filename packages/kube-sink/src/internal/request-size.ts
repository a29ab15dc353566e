/**
 * kube-apiserver reads at most this many bytes of a request body (`MaxRequestBodyBytes` in
 * k8s.io/apiserver `pkg/server/config.go`; no flag changes it) and answers 413 beyond it.
 */
export const APISERVER_MAX_REQUEST_BYTES = 3 * 1024 * 1024;

/** etcd's default `--max-request-bytes`: larger objects are refused with "request is too large". */
export const ETCD_DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/** What to do about an object that is too large; the same advice wherever the limit was hit. */
export const TOO_LARGE_ADVICE =
  `kube-apiserver accepts request bodies up to ${formatBytes(APISERVER_MAX_REQUEST_BYTES)} and etcd stores objects up to ` +
  `${formatBytes(ETCD_DEFAULT_MAX_REQUEST_BYTES)} by default; make the object smaller (move large data into an image, ` +
  'a volume or several objects)';

/** A size for people: `512 B`, `12.3 KiB`, `4.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
