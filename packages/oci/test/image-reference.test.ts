import { describe, expect, it } from 'vitest';
import { formatImageReference, ImageReferenceError, parseImageReference } from '../src/image-reference.js';

const sha = `sha256:${'ab'.repeat(32)}`;

describe('parseImageReference', () => {
  it.each([
    ['nginx', { registry: 'registry-1.docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'registry-1.docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['bitnami/redis:7', { registry: 'registry-1.docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['docker.io/nginx', { registry: 'registry-1.docker.io', repository: 'library/nginx' }],
    ['docker.io/library/nginx:latest', { registry: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['index.docker.io/team/app:v1', { registry: 'registry-1.docker.io', repository: 'team/app', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app:dev', { registry: 'localhost:5000', repository: 'app', tag: 'dev' }],
    ['registry.local:5000/team/app:1.2.3', { registry: 'registry.local:5000', repository: 'team/app', tag: '1.2.3' }],
    ['ghcr.io/acme/api', { registry: 'ghcr.io', repository: 'acme/api' }],
    ['127.0.0.1:5000/a/b/c:x_Y.z-1', { registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 'x_Y.z-1' }],
    ['[::1]:5000/app:1', { registry: '[::1]:5000', repository: 'app', tag: '1' }],
    ['My-Host/app', { registry: 'My-Host', repository: 'app' }],
    [`nginx@${sha}`, { registry: 'registry-1.docker.io', repository: 'library/nginx', digest: sha }],
    [`ghcr.io/acme/api:1.0@${sha}`, { registry: 'ghcr.io', repository: 'acme/api', tag: '1.0', digest: sha }],
    ['my_org/some__name-x.y', { registry: 'registry-1.docker.io', repository: 'my_org/some__name-x.y' }],
  ])('%s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['Nginx', 'lowercase'],
    ['ghcr.io/Acme/api', 'lowercase'],
    ['nginx:', 'not a valid tag'],
    ['nginx:-bad', 'not a valid tag'],
    ['nginx@sha256:abc', 'not a digest'],
    [`nginx@sha256:${'g'.repeat(64)}`, 'wrong length or characters'],
    [`nginx@sha256:${'a'.repeat(63)}`, 'wrong length or characters'],
    ['https://ghcr.io/acme/api', 'scheme'],
    ['ghcr.io/', 'empty'],
    ['ghcr.io/acme//api', 'not a valid repository name'],
    ['ghcr.io/acme/api-', 'not a valid repository name'],
    [`ghcr.io/${'a'.repeat(250)}`, 'longer than 255'],
  ])('rejects %j (%s)', (text, reason) => {
    expect(() => parseImageReference(text)).toThrow(ImageReferenceError);
    expect(() => parseImageReference(text)).toThrow(reason);
  });

  it('gives the error a code and the image text', () => {
    try {
      parseImageReference('Nginx');
      expect.unreachable();
    } catch (error) {
      expect((error as ImageReferenceError).code).toBe('INVALID_IMAGE_REFERENCE');
      expect((error as ImageReferenceError).data['image']).toBe('Nginx');
    }
  });
});

describe('formatImageReference', () => {
  it('writes Docker Hub as docker.io and keeps tag and digest', () => {
    expect(formatImageReference(parseImageReference('nginx:1.27'))).toBe('docker.io/library/nginx:1.27');
    expect(formatImageReference(parseImageReference(`localhost:5000/app:1@${sha}`))).toBe(`localhost:5000/app:1@${sha}`);
  });

  it('round-trips through parseImageReference', () => {
    for (const text of ['ghcr.io/acme/api:2', `registry.local:5000/team/app@${sha}`, 'docker.io/bitnami/redis']) {
      const ref = parseImageReference(text);
      expect(parseImageReference(formatImageReference(ref))).toEqual(ref);
    }
  });
});
