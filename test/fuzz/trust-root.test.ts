import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/reference/index.ts';
import { parseTrustConfig, trustSourceFrom, tufSourceId } from '../../src/trust-root/config.ts';
import { parseTrustedRoot } from '../../src/trust-root/trusted-root.ts';
import { charOf, hostileJsonValue, mutatedJsonBytes, mutatedJsonValue, reformattedJson, utf8 } from './arbitraries.ts';
import { fc, neverThrows, outcome, parsed, runs, titled } from './harness.ts';
import { seedsOf } from './seeds.ts';

/** Trust material: trusted_root.json (from a mirror, a directory, a file) and trust configurations (policy files, the TUF cache record). */

describe('fuzz: parseTrustedRoot', () => {
  it(titled('mutations of the committed and public-good trusted roots: a root or TRUST_ROOT_INVALID', 'trustedRootMutated'), () => {
    fc.assert(
      fc.property(mutatedJsonBytes(seedsOf('trustedRoots')), (bytes) => {
        const result = outcome(() => parseTrustedRoot(bytes, 'fuzz'), ['TRUST_ROOT_INVALID']);
        if (result.ok) expect(result.value.digest).toBe(sha256Digest(bytes));
      }),
      runs('trustedRootMutated'),
    );
  });

  it(titled('a trusted root parses the same whatever its key order and whitespace; its digest is of the bytes', 'trustedRootReformatted'), () => {
    const values = seedsOf('trustedRoots').map((b) => JSON.parse(b.toString('utf8')) as unknown);
    fc.assert(
      fc.property(reformattedJson(values), ({ seed, text }) => {
        const expected = parsed(() => parseTrustedRoot(utf8(JSON.stringify(seed)), 'fuzz'));
        const value = parsed(() => parseTrustedRoot(utf8(text), 'fuzz'));
        expect(value.trustedRoot).toEqual(expected.trustedRoot);
        expect(value.digest).toBe(sha256Digest(utf8(text)));
      }),
      runs('trustedRootReformatted'),
    );
  });
});

const path = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });
const time = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const validFor = fc.record({ start: time, end: time }, { requiredKeys: ['start'] });
// Host labels start with a letter: WHATWG URL reads a host whose last label is numeric as IPv4.
const httpUrl = fc
  .tuple(fc.constantFrom('https', 'http'), fc.array(fc.tuple(charOf('abcxyz'), fc.string({ unit: charOf('abcxyz019'), maxLength: 7 })).map(([a, b]) => a + b), { minLength: 1, maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), fc.string({ unit: charOf('abc/-_.'), maxLength: 20 }))
  .map(([scheme, labels, port, p]) => `${scheme}://${labels.join('.')}${port === undefined ? '' : `:${port}`}/${p}`);
const tufOptions = { cacheDir: path, allowExpiredMetadataUnsafe: fc.boolean() };

/** Every source of the trust selection model, with every optional field sometimes present. */
const trustConfigArb = fc.oneof(
  fc.record({ source: fc.constant('public-good' as const), root: path, ...tufOptions }, { requiredKeys: ['source'] }),
  fc.record({ source: fc.constant('tuf-mirror' as const), url: httpUrl, root: path, ...tufOptions }, { requiredKeys: ['source', 'url'] }),
  fc.record({ source: fc.constant('tuf-directory' as const), path, root: path, ...tufOptions }, { requiredKeys: ['source', 'path'] }),
  fc.record({ source: fc.constant('trusted-root' as const), path }),
  fc.record(
    {
      source: fc.constant('assembled' as const),
      fulcio: fc.array(fc.record({ certChain: path, uri: fc.string(), validFor }, { requiredKeys: ['certChain', 'validFor'] }), { maxLength: 2 }),
      rekor: fc.array(fc.record({ publicKey: path, baseUrl: fc.string({ minLength: 1 }), validFor }), { maxLength: 2 }),
      ctlogs: fc.array(fc.record({ publicKey: path, baseUrl: fc.string(), validFor }, { requiredKeys: ['publicKey', 'validFor'] }), { maxLength: 2 }),
      tsa: fc.array(fc.record({ certChain: path, uri: fc.string(), validFor }, { requiredKeys: ['certChain', 'validFor'] }), { maxLength: 2 }),
    },
    { requiredKeys: ['source'] },
  ),
);

describe('fuzz: parseTrustConfig', () => {
  it(titled('arbitrary values and mutated valid configurations: a configuration or TRUST_CONFIG_INVALID; a source is built with typed errors only', 'trustConfigHostile'), () => {
    const seeds = fc.sample(trustConfigArb, { seed: 7, numRuns: 40 });
    fc.assert(
      fc.property(fc.oneof(hostileJsonValue(), mutatedJsonValue(seeds)), (value) => {
        const result = outcome(() => parseTrustConfig(value), ['TRUST_CONFIG_INVALID']);
        if (!result.ok) return;
        const config = result.value;
        outcome(() => trustSourceFrom(config), ['TRUST_CONFIG_INVALID']);
        if (config.source === 'tuf-mirror') expect(neverThrows(() => tufSourceId(config))).toMatch(/^mirror-[A-Za-z0-9._-]+$/);
      }),
      runs('trustConfigHostile'),
    );
  });

  it(titled('a generated configuration of every source parses unchanged', 'trustConfigRoundTrip'), () => {
    fc.assert(
      fc.property(trustConfigArb, (config) => {
        const value = parsed(() => parseTrustConfig(JSON.parse(JSON.stringify(config))));
        expect(value).toEqual(config);
      }),
      runs('trustConfigRoundTrip'),
    );
  });
});
