import { describe, expect, it } from 'vitest';
import { type Digest, formatReference, parseReference, pinnedReference, repositoryName } from '../../src/reference/index.ts';

const D: Digest = `sha256:${'a'.repeat(64)}`;

describe('parseReference: Docker normalisation', () => {
  it.each([
    ['alpine', { registry: 'index.docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['alpine:3.20', { registry: 'index.docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['docker.io/alpine', { registry: 'index.docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['index.docker.io/library/alpine', { registry: 'index.docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['registry-1.docker.io/salrashid123/server_image:v1', { registry: 'index.docker.io', repository: 'salrashid123/server_image', tag: 'v1' }],
    ['salrashid123/server_image', { registry: 'index.docker.io', repository: 'salrashid123/server_image', tag: 'latest' }],
    ['ghcr.io/org/team/app:1.0', { registry: 'ghcr.io', repository: 'org/team/app', tag: '1.0' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['localhost:5000/app', { registry: 'localhost:5000', repository: 'app', tag: 'latest' }],
    ['127.0.0.1:5000/a/b', { registry: '127.0.0.1:5000', repository: 'a/b', tag: 'latest' }],
    ['[::1]:5000/app', { registry: '[::1]:5000', repository: 'app', tag: 'latest' }],
    [`ghcr.io/org/app@${D}`, { registry: 'ghcr.io', repository: 'org/app', digest: D }],
    [`ghcr.io/org/app:v1@${D}`, { registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest: D }],
    // A single-component name on another registry gets no library/ prefix.
    ['quay.io/app', { registry: 'quay.io', repository: 'app', tag: 'latest' }],
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual({ kind: 'registry', ...expected });
  });

  it.each([
    ['', 'empty'],
    ['UPPER/case', 'uppercase repository'],
    ['ghcr.io/', 'empty repository'],
    ['app:', 'empty tag'],
    ['app:bad tag', 'tag with space'],
    [`app@sha256:${'A'.repeat(64)}`, 'uppercase digest hex'],
    ['app@sha256:abc', 'short digest'],
    [`app@sha512:${'a'.repeat(128)}`, 'non-sha256 digest'],
    ['app/../etc', 'dot-dot component'],
    ['a'.repeat(5000), 'too long'],
    ['ghcr.io/org/-app', 'leading separator'],
  ])('refuses %s (%s) with REFERENCE_INVALID', (input) => {
    expect(() => parseReference(input)).toThrow(expect.objectContaining({ code: 'REFERENCE_INVALID' }));
  });
});

describe('parseReference: OCI layouts', () => {
  it.each([
    ['oci:fixtures/layout', { path: 'fixtures/layout', tag: 'latest' }],
    ['oci:fixtures/layout:signed', { path: 'fixtures/layout', tag: 'signed' }],
    [`oci:/abs/dir@${D}`, { path: '/abs/dir', digest: D }],
    ['oci:./dir:v1.0', { path: './dir', tag: 'v1.0' }],
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual({ kind: 'layout', ...expected });
  });

  it('refuses oci: with no directory', () => {
    expect(() => parseReference('oci:')).toThrow(expect.objectContaining({ code: 'REFERENCE_INVALID' }));
  });
});

describe('formatting', () => {
  it('pins to repository@digest, never a tag', () => {
    const ref = parseReference('ghcr.io/org/app:v1');
    expect(pinnedReference(ref, D)).toBe(`ghcr.io/org/app@${D}`);
    expect(repositoryName(ref)).toBe('ghcr.io/org/app');
    expect(formatReference(ref)).toBe('ghcr.io/org/app:v1');
  });
});
