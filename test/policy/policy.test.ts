import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compilePolicy, parsePublicKey } from '../../src/policy/index.ts';

const pem = (type: 'ec' | 'rsa' | 'ed25519', opts: object = {}): string =>
  generateKeyPairSync(type as 'ec', opts as { namedCurve: string }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

const KEYLESS = { certificateIdentity: 'a@b.com', certificateOidcIssuer: 'https://issuer' };

describe('compilePolicy', () => {
  it('compiles a keyless policy with exact matchers and the log required', () => {
    const policy = compilePolicy(KEYLESS);
    expect(policy).toMatchObject({ mode: 'keyless', identity: { kind: 'exact', value: 'a@b.com' }, issuer: { kind: 'exact' }, requireTlog: true });
  });

  it('compiles a key policy', () => {
    expect(compilePolicy({ publicKey: pem('ec', { namedCurve: 'P-256' }) })).toMatchObject({ mode: 'key', requireTlog: true });
    expect(compilePolicy({ publicKey: pem('ec', { namedCurve: 'P-256' }), ignoreTlogUnsafe: true })).toMatchObject({ requireTlog: false });
  });

  it.each([
    ['nothing at all', {}],
    ['identity without issuer', { certificateIdentity: 'a@b.com' }],
    ['issuer without identity', { certificateOidcIssuer: 'https://issuer' }],
    ['identity and identity regexp', { ...KEYLESS, certificateIdentityRegexp: '.*' }],
    ['issuer and issuer regexp', { ...KEYLESS, certificateOidcIssuerRegexp: '.*' }],
    ['key with identity', { publicKey: 'x', certificateIdentity: 'a@b.com' }],
    ['key with GitHub claims', { publicKey: 'x', githubWorkflowRef: 'refs/heads/main' }],
    ['an empty identity', { certificateIdentity: '', certificateOidcIssuer: 'https://issuer' }],
    ['an unknown field', { ...KEYLESS, certificateIdentityRegex: 'typo' }],
    ['an invalid regexp', { certificateIdentityRegexp: '(', certificateOidcIssuer: 'x' }],
  ])('refuses %s with POLICY_INVALID', (_name, input) => {
    expect(() => compilePolicy(input as never)).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }));
  });
});

describe('parsePublicKey', () => {
  it('accepts P-256, P-384 and RSA-2048+', () => {
    expect(parsePublicKey(pem('ec', { namedCurve: 'P-256' })).asymmetricKeyType).toBe('ec');
    expect(parsePublicKey(pem('ec', { namedCurve: 'P-384' })).asymmetricKeyType).toBe('ec');
    expect(parsePublicKey(pem('rsa', { modulusLength: 2048 })).asymmetricKeyType).toBe('rsa');
  });

  it.each([
    ['garbage', () => 'not a key'],
    ['Ed25519 (sigstore-js cannot verify message signatures with it)', () => pem('ed25519')],
    ['P-521', () => pem('ec', { namedCurve: 'P-521' })],
    ['short RSA', () => pem('rsa', { modulusLength: 1024 })],
  ])('refuses %s with KEY_INVALID', (_name, make) => {
    expect(() => parsePublicKey(make())).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }));
  });
});
