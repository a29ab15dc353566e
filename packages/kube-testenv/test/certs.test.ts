import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, createServiceAccountKeyPair, loadCertificateAuthority } from '../src/certs.js';

const dir = mkdtempSync(join(tmpdir(), 'kt-certs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('certificates', () => {
  const ca = createCertificateAuthority({ commonName: 'test-ca' });

  it('creates a self-signed CA that marks itself as a CA', () => {
    expect(ca.cert.ca).toBe(true);
    expect(ca.cert.subject).toBe('CN=test-ca');
    expect(ca.cert.verify(ca.cert.publicKey)).toBe(true);
  });

  it('issues a serving certificate with IP and DNS names, signed by the CA', () => {
    const s = ca.issue({ commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], usage: 'server' });
    expect(s.cert.ca).toBe(false);
    expect(s.cert.checkIssued(ca.cert)).toBe(true);
    expect(s.cert.verify(ca.cert.publicKey)).toBe(true);
    expect(s.cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(s.cert.checkIP('::1')).toBe('::1');
    expect(s.cert.checkHost('localhost')).toBe('localhost');
    expect(s.cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  });

  it('issues client certificates whose O entries are the groups, also from a reloaded CA', () => {
    const reloaded = loadCertificateAuthority(ca.certPem, ca.keyPem);
    const c = reloaded.issue({ commonName: 'alice', organizations: ['dev', 'system:masters'] });
    expect(c.cert.subject.split('\n')).toEqual(['O=dev', 'O=system:masters', 'CN=alice']);
    expect(c.cert.issuer).toBe('CN=test-ca');
    expect(c.cert.verify(ca.cert.publicKey)).toBe(true);
    expect(c.cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('produces certificates that openssl verifies against the CA', () => {
    const s = ca.issue({ commonName: 'srv', ipAddresses: ['127.0.0.1'], usage: 'server' });
    const c = ca.issue({ commonName: 'cli' });
    writeFileSync(join(dir, 'ca.crt'), ca.certPem);
    writeFileSync(join(dir, 's.crt'), s.certPem);
    writeFileSync(join(dir, 'c.crt'), c.certPem);
    const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 's.crt'), join(dir, 'c.crt')], { encoding: 'utf8' });
    expect(out).toContain(`${join(dir, 's.crt')}: OK`);
    expect(out).toContain(`${join(dir, 'c.crt')}: OK`);
  });

  it('creates a service-account key pair in PEM', () => {
    const sa = createServiceAccountKeyPair();
    expect(sa.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(sa.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });
});
