import { describe, expect, it } from 'vitest';
import { legacyCertificateDer, legacyLayerToBundle } from '../../src/bundle/legacy.ts';
import { pemBlocks, pemToDer } from '../../src/bundle/pem.ts';
import { bundleCertificateDer, dedupeTlogEntries, isBundleV03OrLater, parseBundle } from '../../src/bundle/sigstore-bundle.ts';
import { tlogVerifier } from '../../src/bundle/tlog-body.ts';
import { parseLegacyAnnotations } from '../../src/cosign/index.ts';
import { base64Arb, hostileBytes, hostileText, mutatedJsonBytes, mutatedJsonText, mutatedJsonValue, reformattedJson, utf8 } from './arbitraries.ts';
import { fc, neverThrows, outcome, outcomeSummary, parsed, runs, titled } from './harness.ts';
import { seedsOf } from './seeds.ts';

/** Sigstore bundles, tlog entry bodies, PEM, and the legacy-layer → bundle conversion. */

const b64 = (data: Uint8Array | string): string => Buffer.from(data).toString('base64');
const derArb = fc.uint8Array({ minLength: 1, maxLength: 300 });
const labelArb = fc.constantFrom('CERTIFICATE', 'PUBLIC KEY');

/** RFC 7468 PEM, lines of 64 base64 characters. */
function toPem(label: string, der: Uint8Array): string {
  const lines = b64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

describe('fuzz: tlogVerifier', () => {
  const CODES = ['TLOG_ENTRY_INVALID'] as const;

  it(titled('arbitrary bodies: TLOG_ENTRY_INVALID only', 'tlogHostile'), () => {
    fc.assert(
      fc.property(fc.oneof(hostileText(), hostileBytes().map(b64)), (body) => {
        outcome(() => tlogVerifier(body), CODES);
      }),
      runs('tlogHostile'),
    );
  });

  it(titled('mutations of real entry bodies (hashedrekord, dsse, intoto; Rekor v1 and v2): typed errors only', 'tlogMutated'), () => {
    const seeds = seedsOf('tlogBodies').map((b) => JSON.parse(b.toString('utf8')) as unknown);
    fc.assert(
      fc.property(mutatedJsonText(seeds), (text) => {
        outcome(() => tlogVerifier(b64(text)), CODES);
      }),
      runs('tlogMutated'),
    );
  });

  it(titled('a generated body of every supported kind yields its signer material and signatures', 'tlogRoundTrip'), () => {
    const material = fc.record({ label: labelArb, der: derArb });
    const body = fc.oneof(
      fc.record({ kind: fc.constant('hashedrekord/0.0.1'), material, sig: base64Arb }).map(({ material: m, sig }) => ({
        m,
        signatures: [sig],
        body: { apiVersion: '0.0.1', kind: 'hashedrekord', spec: { data: { hash: { algorithm: 'sha256', value: '00' } }, signature: { content: sig, publicKey: { content: b64(toPem(m.label, m.der)) } } } },
      })),
      fc.record({ kind: fc.constant('dsse/0.0.1'), material, sig: base64Arb }).map(({ material: m, sig }) => ({
        m,
        signatures: [sig],
        body: { apiVersion: '0.0.1', kind: 'dsse', spec: { signatures: [{ signature: sig, verifier: b64(toPem(m.label, m.der)) }] } },
      })),
      fc.record({ kind: fc.constant('intoto/0.0.2'), material, sig: base64Arb }).map(({ material: m, sig }) => ({
        m,
        signatures: [sig],
        // intoto 0.0.2 stores the signature base64-encoded twice (docs/formats.md §7).
        body: { apiVersion: '0.0.2', kind: 'intoto', spec: { content: { envelope: { signatures: [{ sig: b64(sig), publicKey: b64(toPem(m.label, m.der)) }] } } } },
      })),
      fc.record({ kind: fc.constantFrom('hashedrekord/0.0.2', 'dsse/0.0.2'), material, sig: base64Arb }).map(({ kind, material: m, sig }) => {
        const verifier = m.label === 'CERTIFICATE' ? { x509Certificate: { rawBytes: b64(m.der) }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } : { publicKey: { rawBytes: b64(m.der) }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
        const spec = kind === 'hashedrekord/0.0.2'
          ? { hashedRekordV002: { signature: { content: sig, verifier } } }
          : { dsseV002: { signatures: [{ content: sig, verifier }] } };
        return { m, signatures: [sig], body: { apiVersion: '0.0.2', kind: kind.split('/')[0], spec } };
      }),
    );
    fc.assert(
      fc.property(body, ({ m, signatures, body: entry }) => {
        const verifier = parsed(() => tlogVerifier(b64(JSON.stringify(entry))));
        const der = Buffer.from(m.der);
        expect(verifier).toEqual({
          kind: entry.kind,
          apiVersion: entry.apiVersion,
          ...(m.label === 'CERTIFICATE' ? { certificateDer: der } : { publicKeyDer: der }),
          signatures,
        });
      }),
      runs('tlogRoundTrip'),
    );
  });
});

describe('fuzz: PEM', () => {
  it(titled('arbitrary text: pemToDer and pemBlocks never throw', 'pemHostile'), () => {
    const seeded = fc.tuple(fc.constantFrom(...seedsOf('pems')), fc.nat(), hostileText(20)).map(([pem, at, insert]) => {
      const i = at % (pem.length + 1);
      return pem.slice(0, i) + insert + pem.slice(i);
    });
    fc.assert(
      fc.property(fc.oneof(hostileText(400), seeded, fc.constantFrom('-----BEGIN A-----\n'.repeat(5000), `-----BEGIN CERTIFICATE-----\n${'A'.repeat(200_000)}`)), labelArb, (text, label) => {
        neverThrows(() => pemToDer(text, label));
        neverThrows(() => pemBlocks(text));
      }),
      runs('pemHostile'),
    );
  });

  it(titled('PEM-encoded DER decodes to the same bytes, first block of the label', 'pemRoundTrip'), () => {
    fc.assert(
      fc.property(fc.array(fc.record({ label: labelArb, der: derArb }), { minLength: 1, maxLength: 4 }), fc.constantFrom('\n', '\r\n'), (blocks, eol) => {
        const text = blocks.map((b) => toPem(b.label, b.der).replaceAll('\n', eol)).join('');
        expect(parsed(() => pemBlocks(text))).toEqual(blocks.map((b) => ({ label: b.label, der: Buffer.from(b.der) })));
        for (const label of ['CERTIFICATE', 'PUBLIC KEY']) {
          const first = blocks.find((b) => b.label === label);
          expect(parsed(() => pemToDer(text, label))).toEqual(first === undefined ? undefined : Buffer.from(first.der));
        }
      }),
      runs('pemRoundTrip'),
    );
  });
});

/**
 * Inputs that once escaped as untyped errors (see the comments in
 * src/bundle/sigstore-bundle.ts and tlog-body.ts), checked on every run.
 */
const BUNDLE_REGRESSIONS: Uint8Array[] = (() => {
  const seed = JSON.parse(seedsOf('bundles')[0]?.toString('utf8') ?? '{}') as { verificationMaterial: { tlogEntries: Record<string, unknown>[] } };
  const variant = (change: (material: Record<string, unknown>) => void): Uint8Array => {
    const copy = structuredClone(seed);
    change(copy.verificationMaterial);
    return utf8(JSON.stringify(copy));
  };
  return [
    variant((m) => { delete m['tlogEntries']; }),
    variant((m) => { m['tlogEntries'] = { 0: {} }; }),
    variant((m) => { for (const e of m['tlogEntries'] as Record<string, unknown>[]) delete e['canonicalizedBody']; }),
  ];
})();

describe('fuzz: parseBundle', () => {
  it(titled('arbitrary bytes: BUNDLE_INVALID only', 'bundleHostile'), () => {
    fc.assert(
      fc.property(hostileBytes(), hostileText(80), (bytes, mediaType) => {
        outcome(() => parseBundle(bytes), ['BUNDLE_INVALID']);
        neverThrows(() => isBundleV03OrLater(mediaType));
      }),
      runs('bundleHostile'),
    );
  });

  it(titled('mutations of real bundles: a bundle or BUNDLE_INVALID; its entries and certificate read with typed errors only', 'bundleMutated'), () => {
    fc.assert(
      fc.property(mutatedJsonBytes(seedsOf('bundles')), (bytes) => {
        const result = outcome(() => parseBundle(bytes), ['BUNDLE_INVALID']);
        if (!result.ok) return;
        const { bundle, json } = result.value;
        neverThrows(() => isBundleV03OrLater(bundle.mediaType));
        neverThrows(() => bundleCertificateDer(bundle));
        const unique = neverThrows(() => dedupeTlogEntries(json));
        for (const entry of unique.verificationMaterial.tlogEntries) outcome(() => tlogVerifier(entry.canonicalizedBody), ['TLOG_ENTRY_INVALID']);
      }),
      { ...runs('bundleMutated'), examples: BUNDLE_REGRESSIONS.map((b) => [b] as [Uint8Array]) },
    );
  });

  it(titled('a real bundle parses the same whatever its key order and whitespace', 'bundleReformatted'), () => {
    const values = seedsOf('bundles').map((b) => JSON.parse(b.toString('utf8')) as unknown);
    fc.assert(
      fc.property(reformattedJson(values), ({ seed, text }) => {
        const expected = outcome(() => parseBundle(utf8(JSON.stringify(seed))).bundle, ['BUNDLE_INVALID']);
        expect(outcomeSummary(outcome(() => parseBundle(utf8(text)).bundle, ['BUNDLE_INVALID']))).toEqual(outcomeSummary(expected));
      }),
      runs('bundleReformatted'),
    );
  });
});

describe('fuzz: legacy layer → bundle', () => {
  it(titled('mutated real layer annotations convert to a v0.1 bundle or fail with typed errors', 'legacyMutated'), () => {
    const content = fc.oneof(
      fc.record({ kind: fc.constant('message' as const), signature: base64Arb, payloadSha256: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)) }),
      fc.record({ kind: fc.constant('dsse' as const), payload: base64Arb, payloadType: fc.string({ maxLength: 40 }), signature: base64Arb }),
    );
    fc.assert(
      fc.property(mutatedJsonValue(seedsOf('annotations')), content, fc.boolean(), (value, layer, keyMode) => {
        const annotations = outcome(() => parseLegacyAnnotations(value as Record<string, string>, layer.kind === 'message' ? 'signature' : 'attestation'), ['ANNOTATION_INVALID']);
        if (!annotations.ok) return;
        const der = outcome(() => legacyCertificateDer(annotations.value), ['CERTIFICATE_INVALID']);
        if (!der.ok) return;
        const converted = outcome(() => legacyLayerToBundle(annotations.value, keyMode ? undefined : der.value, layer), ['TLOG_ENTRY_INVALID', 'ANNOTATION_INVALID']);
        if (converted.ok) expect(converted.value.bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle+json;version=0.1');
      }),
      runs('legacyMutated'),
    );
  });
});
