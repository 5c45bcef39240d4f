import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TrustConfig, trustSourceFrom, trustStatus } from '../../src/trust-root/index.ts';
import { verifyImage } from '../../src/verify/index.ts';
import { FIXTURES, FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';

/**
 * A trust root assembled from individual files (a small private Sigstore
 * without TUF): the fixture Sigstore's Fulcio chain, Rekor and CT log keys
 * and TSA chain, each with a validity window.
 */
const POLICY = { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER };
const privateFile = (name: string): string => readFileSync(join(FIXTURES, 'private', 'test', name), 'utf8');
const FROM = '2026-01-01T00:00:00Z';

let work: string;
const path = (name: string): string => join(work, name);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sigverify-assembled-'));
  const publicPem = (key: string): string => createPublicKey(privateFile(key)).export({ type: 'spki', format: 'pem' }).toString();
  await writeFile(path('fulcio-chain.pem'), privateFile('ca-intermediate.crt.pem') + privateFile('ca-root.crt.pem'));
  await writeFile(path('fulcio-root-first.pem'), privateFile('ca-root.crt.pem') + privateFile('ca-intermediate.crt.pem'));
  await writeFile(path('rekor.pub'), publicPem('rekor.key.pem'));
  await writeFile(path('ctlog.pub'), publicPem('ctlog.key.pem'));
  await writeFile(path('tsa-chain.pem'), privateFile('tsa.crt.pem') + privateFile('tsa-root.crt.pem'));
  await writeFile(path('tsa-root-only.pem'), privateFile('tsa-root.crt.pem'));
  await writeFile(path('mixed.pem'), privateFile('ca-intermediate.crt.pem') + privateFile('ca-root.crt.pem') + privateFile('tsa-root.crt.pem'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function config(overrides: Partial<Extract<TrustConfig, { source: 'assembled' }>> = {}): TrustConfig {
  return {
    source: 'assembled',
    fulcio: [{ certChain: path('fulcio-chain.pem'), uri: 'https://fulcio.sigverify.test', validFor: { start: FROM, end: '2036-01-01T00:00:00Z' } }],
    rekor: [{ publicKey: path('rekor.pub'), baseUrl: 'https://rekor.sigverify.test', validFor: { start: FROM } }],
    ctlogs: [{ publicKey: path('ctlog.pub'), baseUrl: 'https://ctfe.sigverify.test', validFor: { start: FROM } }],
    tsa: [{ certChain: path('tsa-chain.pem'), uri: 'https://tsa.sigverify.test', validFor: { start: FROM } }],
    ...overrides,
  };
}

describe('a trust root assembled from individual files', () => {
  it('names the same keys as the fixture trusted root: log IDs are sha256 of the DER key', async () => {
    const root = await trustSourceFrom(config()).load();
    const fixture = (await trustSourceFrom({ source: 'trusted-root', path: TEST_TRUSTED_ROOT }).load()).trustedRoot;
    expect(root.trustedRoot.tlogs.map((t) => t.logId?.keyId.toString('hex'))).toEqual(fixture.tlogs.map((t) => t.logId?.keyId.toString('hex')));
    expect(root.trustedRoot.ctlogs.map((t) => t.logId?.keyId.toString('hex'))).toEqual(fixture.ctlogs.map((t) => t.logId?.keyId.toString('hex')));
    expect(root.trustedRoot.certificateAuthorities[0]?.certChain?.certificates.map((c) => c.rawBytes.toString('hex'))).toEqual(
      fixture.certificateAuthorities[0]?.certChain?.certificates.map((c) => c.rawBytes.toString('hex')),
    );
    expect(root.trustedRoot.timestampAuthorities[0]?.certChain?.certificates).toHaveLength(2);
  });

  it.each(['signed', 'bundle-signed'])('verifies %s (legacy signature, and a bundle with an RFC 3161 timestamp)', async (tag) => {
    const result = await verifyImage(`oci:${FIXTURE_LAYOUT}:${tag}`, POLICY, { trust: trustSourceFrom(config()) });
    expect(result.verified).toBe(true);
  });

  it('orders a chain given root first', async () => {
    const root = await trustSourceFrom(config({ fulcio: [{ certChain: path('fulcio-root-first.pem'), validFor: { start: FROM } }] })).load();
    const fixture = (await trustSourceFrom({ source: 'trusted-root', path: TEST_TRUSTED_ROOT }).load()).trustedRoot;
    expect(root.trustedRoot.certificateAuthorities[0]?.certChain?.certificates[0]?.rawBytes).toEqual(fixture.certificateAuthorities[0]?.certChain?.certificates[0]?.rawBytes);
  });

  it('honours the validity windows: a Rekor key that ended before the signing time does not verify it', async () => {
    const ended = config({ rekor: [{ publicKey: path('rekor.pub'), baseUrl: 'https://rekor.sigverify.test', validFor: { start: FROM, end: '2026-02-01T00:00:00Z' } }] });
    await expect(verifyImage(`oci:${FIXTURE_LAYOUT}:signed`, POLICY, { trust: trustSourceFrom(ended) })).rejects.toMatchObject({ code: 'NO_MATCHING_SIGNATURE' });
  });

  it('status lists each CA and key with its window', async () => {
    const status = await trustStatus(trustSourceFrom(config()), { now: new Date('2026-12-01T00:00:00Z') });
    expect(status.tuf).toBeUndefined();
    expect(status.keys.map((k) => [k.kind, k.validFrom, k.validUntil ?? null, k.state])).toEqual([
      ['certificate-authority', '2026-01-01T00:00:00.000Z', '2036-01-01T00:00:00.000Z', 'valid'],
      ['transparency-log', '2026-01-01T00:00:00.000Z', null, 'valid'],
      ['ct-log', '2026-01-01T00:00:00.000Z', null, 'valid'],
      ['timestamp-authority', '2026-01-01T00:00:00.000Z', null, 'valid'],
    ]);
  });

  it.each([
    ['a window that ends before it starts', { source: 'assembled', rekor: [{ publicKey: 'x', baseUrl: 'https://r', validFor: { start: FROM, end: '2025-01-01T00:00:00Z' } }] }],
    ['nothing at all', { source: 'assembled' }],
  ] as [string, TrustConfig][])('refuses %s: TRUST_CONFIG_INVALID', async (_name, bad) => {
    await expect((async () => trustSourceFrom(bad).load())()).rejects.toMatchObject({ code: 'TRUST_CONFIG_INVALID' });
  });

  it('refuses a validity window without a start (sigstore-js would read it as the epoch)', () => {
    expect(() => trustSourceFrom({ source: 'assembled', rekor: [{ publicKey: 'x', baseUrl: 'https://r', validFor: { end: FROM } as unknown as { start: string } }] })).toThrow(
      expect.objectContaining({ code: 'TRUST_CONFIG_INVALID' }),
    );
  });

  it.each([
    ['a chain file with a certificate off the chain', { fulcio: [{ certChain: 'mixed.pem', validFor: { start: FROM } }] }],
    ['a TSA file without the TSA certificate', { tsa: [{ certChain: 'tsa-root-only.pem', validFor: { start: FROM } }] }],
    ['a CA file that is not PEM', { fulcio: [{ certChain: 'rekor.pub', validFor: { start: FROM } }] }],
    ['a log key file that holds a certificate', { rekor: [{ publicKey: 'fulcio-chain.pem', baseUrl: 'https://r', validFor: { start: FROM } }] }],
  ])('refuses %s: TRUST_ROOT_INVALID', async (_name, part) => {
    const absolute = JSON.parse(JSON.stringify(part).replace(/"(certChain|publicKey)":"([^"]+)"/g, (_m, k: string, v: string) => `"${k}":${JSON.stringify(path(v))}`)) as typeof part;
    await expect(trustSourceFrom(config(absolute)).load()).rejects.toMatchObject({ code: 'TRUST_ROOT_INVALID' });
  });
});
