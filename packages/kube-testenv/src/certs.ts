import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import * as der from './internal/der.js';

/** A certificate and its private key, both PEM encoded. */
export interface IssuedCertificate {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  certPem: string;
  /** The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string;
  /** The parsed certificate, for inspection (subject, validity, `verify`). */
  cert: X509Certificate;
}

/** What to put in a certificate that a {@link CertificateAuthority} issues. */
export interface CertificateRequest {
  /** Subject CN. For a client certificate Kubernetes takes it as the user name. */
  commonName: string;
  /** Subject O entries. For a client certificate Kubernetes takes them as the user's groups. @default [] */
  organizations?: readonly string[];
  /** DNS subject alternative names (serving certificates). @default [] */
  dnsNames?: readonly string[];
  /** IP subject alternative names (serving certificates). @default [] */
  ipAddresses?: readonly string[];
  /** Extended key usage. @default 'client' */
  usage?: 'server' | 'client' | 'server-and-client';
  /** Lifetime in days, counted from an hour ago (to tolerate clock skew). @default 365 */
  validityDays?: number;
}

/** A certificate authority that can sign certificates, e.g. client certificates for test users. */
export interface CertificateAuthority extends IssuedCertificate {
  /** Issues a certificate with a new ECDSA P-256 key, signed by this authority. */
  issue(request: CertificateRequest): IssuedCertificate;
}

/** A key pair for signing service-account tokens, PEM encoded. */
export interface ServiceAccountKeyPair {
  /** PKCS#8 PEM, for `--service-account-signing-key-file`. */
  privateKeyPem: string;
  /** SPKI PEM, for `--service-account-key-file`. */
  publicKeyPem: string;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

// keyUsage bits, numbered from the most significant bit of the first byte (RFC 5280 §4.2.1.3).
const DIGITAL_SIGNATURE = 0x80;
const KEY_CERT_SIGN = 0x04;
const CRL_SIGN = 0x02;

const DAY_MS = 86_400_000;

function newKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function name(commonName: string, organizations: readonly string[] = []): der.Der {
  const rdn = (type: string, value: string) => der.set(der.sequence(der.oid(type), der.utf8String(value)));
  return der.sequence(...organizations.map((o) => rdn(OID.organization, o)), rdn(OID.commonName, commonName));
}

function extension(id: string, critical: boolean, value: der.Der): der.Der {
  return der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

/** A one-byte keyUsage BIT STRING; DER wants the unused trailing zero bits counted. */
function keyUsage(bits: number): der.Der {
  let unused = 0;
  while (unused < 7 && ((bits >> unused) & 1) === 0) unused++;
  return der.tlv(0x03, Buffer.from([unused, bits]));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  if (isIP(ip) !== 6) throw new TypeError(`not an IP address: ${ip}`);
  const [head = '', tail = ''] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(all.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

interface SignOptions {
  subject: der.Der;
  subjectKey: KeyObject;
  issuer: der.Der;
  issuerKey: KeyObject;
  issuerKeyId: Buffer;
  validityDays: number;
  extensions: der.Der[];
}

function keyId(publicKey: KeyObject): Buffer {
  return createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest();
}

function signCertificate(o: SignOptions): X509Certificate {
  const algorithm = der.sequence(der.oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const now = Date.now();
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(serial),
    algorithm,
    o.issuer,
    der.sequence(der.time(new Date(now - 3_600_000)), der.time(new Date(now + o.validityDays * DAY_MS))),
    o.subject,
    o.subjectKey.export({ type: 'spki', format: 'der' }),
    der.explicit(
      3,
      der.sequence(
        ...o.extensions,
        extension(OID.subjectKeyIdentifier, false, der.octetString(keyId(o.subjectKey))),
        extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicit(0, o.issuerKeyId))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, { key: o.issuerKey, dsaEncoding: 'der' });
  return new X509Certificate(der.sequence(tbs, algorithm, der.bitString(signature)));
}

function pemOf(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function authority(cert: X509Certificate, privateKey: KeyObject, keyPem: string): CertificateAuthority {
  const issuer = der.sequence(...rawSubject(cert));
  const issuerKeyId = keyId(cert.publicKey);
  return {
    certPem: cert.toString(),
    keyPem,
    cert,
    issue(request) {
      const usage = request.usage ?? 'client';
      const key = newKey();
      const eku = [
        ...(usage === 'client' ? [] : [der.oid(OID.serverAuth)]),
        ...(usage === 'server' ? [] : [der.oid(OID.clientAuth)]),
      ];
      const sans = [
        ...(request.dnsNames ?? []).map((d) => der.implicit(2, Buffer.from(d, 'ascii'))),
        ...(request.ipAddresses ?? []).map((ip) => der.implicit(7, ipBytes(ip))),
      ];
      const issued = signCertificate({
        subject: name(request.commonName, request.organizations),
        subjectKey: key.publicKey,
        issuer,
        issuerKey: privateKey,
        issuerKeyId,
        validityDays: request.validityDays ?? 365,
        extensions: [
          extension(OID.basicConstraints, true, der.sequence()),
          extension(OID.keyUsage, true, keyUsage(DIGITAL_SIGNATURE)),
          extension(OID.extKeyUsage, false, der.sequence(...eku)),
          ...(sans.length > 0 ? [extension(OID.subjectAltName, false, der.sequence(...sans))] : []),
        ],
      });
      return { certPem: issued.toString(), keyPem: pemOf(key.privateKey), cert: issued };
    },
  };
}

/**
 * The subject Name of a certificate exactly as encoded, so issued certificates name their
 * issuer byte for byte (Go's verifier compares raw bytes).
 */
function rawSubject(cert: X509Certificate): der.Der[] {
  // Walk Certificate → TBSCertificate → fields; the subject is the 6th field (after version,
  // serial, signature, issuer, validity).
  const raw = cert.raw;
  const children = (buf: Buffer, offset: number): Array<{ start: number; end: number }> => {
    const { contentStart, end } = header(buf, offset);
    const out: Array<{ start: number; end: number }> = [];
    for (let p = contentStart; p < end; ) {
      const h = header(buf, p);
      out.push({ start: p, end: h.end });
      p = h.end;
    }
    return out;
  };
  const tbs = children(raw, 0)[0]!;
  const subject = children(raw, tbs.start)[5]!;
  // The caller wraps the result in a SEQUENCE; return the RDNs inside the subject.
  return children(raw, subject.start).map((c) => raw.subarray(c.start, c.end));
}

function header(buf: Buffer, offset: number): { contentStart: number; end: number } {
  const first = buf[offset + 1]!;
  if (first < 0x80) return { contentStart: offset + 2, end: offset + 2 + first };
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
  return { contentStart: offset + 2 + n, end: offset + 2 + n + len };
}

/**
 * Creates a self-signed ECDSA P-256 certificate authority.
 *
 * @param options.commonName - the CA's CN. @default 'converge-testenv-ca'
 * @param options.validityDays - lifetime in days. @default 365
 * @example
 * ```ts
 * const ca = createCertificateAuthority();
 * const alice = ca.issue({ commonName: 'alice', organizations: ['dev'] });
 * ```
 */
export function createCertificateAuthority(options: { commonName?: string; validityDays?: number } = {}): CertificateAuthority {
  const key = newKey();
  const subject = name(options.commonName ?? 'converge-testenv-ca');
  const cert = signCertificate({
    subject,
    subjectKey: key.publicKey,
    issuer: subject,
    issuerKey: key.privateKey,
    issuerKeyId: keyId(key.publicKey),
    validityDays: options.validityDays ?? 365,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence(der.boolean(true))),
      extension(OID.keyUsage, true, keyUsage(DIGITAL_SIGNATURE | KEY_CERT_SIGN | CRL_SIGN)),
    ],
  });
  return authority(cert, key.privateKey, pemOf(key.privateKey));
}

/**
 * Loads a certificate authority from PEM (e.g. the `ca.crt`/`ca.key` a test environment wrote),
 * so another process, such as a vitest worker, can issue user certificates.
 */
export function loadCertificateAuthority(certPem: string, keyPem: string): CertificateAuthority {
  return authority(new X509Certificate(certPem), createPrivateKey(keyPem), keyPem);
}

/** Creates an ECDSA P-256 key pair for signing and verifying service-account tokens. */
export function createServiceAccountKeyPair(): ServiceAccountKeyPair {
  const key = newKey();
  return {
    privateKeyPem: pemOf(key.privateKey),
    publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
