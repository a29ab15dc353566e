import { request } from 'node:https';
import { join } from 'node:path';
import { flagList, startComponent, type Component, type StartContext } from './component.js';

/** The files kube-apiserver is started with, all in the environment's `certs` dir. */
export interface ApiServerFiles {
  /** The CA that signs client certificates (`--client-ca-file`). */
  caCert: string;
  /** The serving certificate and key. */
  servingCert: string;
  servingKey: string;
  /** The service-account signing key pair. */
  saKey: string;
  saPub: string;
  /** The dir for `--cert-dir`. */
  certDir: string;
}

/** Options of {@link startKubeApiServer}. */
export interface KubeApiServerOptions {
  /** The `kube-apiserver` binary. */
  binary: string;
  /** etcd's client URL. */
  etcdUrl: string;
  /** Certificates and keys. */
  files: ApiServerFiles;
  /** The admin client certificate that asks `/readyz`, with the CA to trust. */
  client: { ca: string; cert: string; key: string };
  /** Extra or overriding flags (`StartTestEnvOptions.apiServerFlags`). */
  flags: Record<string, string | undefined>;
  /** Serve on this port (a restart keeps the address). @default a free one */
  port?: number;
}

function ready(url: string, tls: { ca: string; cert: string; key: string }, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/readyz`, { ...tls, signal, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts kube-apiserver on loopback over TLS: RBAC, client-certificate authentication, service
 * accounts signed with the given key; ready once `/readyz` answers 200 to the admin.
 */
export function startKubeApiServer(ctx: StartContext, options: KubeApiServerOptions): Promise<Component> {
  const { files } = options;
  const url = (port: number) => `https://127.0.0.1:${port}`;
  return startComponent(ctx, 'kube-apiserver', {
    url,
    logFile: join(ctx.dir, 'kube-apiserver.log'),
    ...(options.port !== undefined && { port: options.port }),
    command: (port) => ({
      command: options.binary,
      cwd: ctx.dir,
      args: flagList(
        {
          'advertise-address': '127.0.0.1',
          'bind-address': '127.0.0.1',
          'secure-port': String(port),
          'etcd-servers': options.etcdUrl,
          'cert-dir': files.certDir,
          'tls-cert-file': files.servingCert,
          'tls-private-key-file': files.servingKey,
          'client-ca-file': files.caCert,
          'authorization-mode': 'RBAC',
          'service-account-issuer': `${url(port)}/`,
          'service-account-key-file': files.saPub,
          'service-account-signing-key-file': files.saKey,
          'service-cluster-ip-range': '10.0.0.0/24',
          // No controller-manager runs, so nothing would create the default ServiceAccount.
          'disable-admission-plugins': 'ServiceAccount',
          'allow-privileged': 'true',
          profiling: 'false',
        },
        options.flags,
      ),
    }),
    ready: (url, signal) => ready(url, options.client, signal),
  });
}
