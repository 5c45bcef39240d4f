import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type PolicyInput, compilePolicy, describeMatcher, matches, regexpMatcher } from '../../src/policy/index.ts';
import { COSIGN_PUB, OTHER_PUB } from '../helpers/fixtures.ts';
import { hostileJsonValue, hostileText, TRICKY_KEYS } from './arbitraries.ts';
import { escapeRegExp, fc, neverThrows, outcome, parsed, runs, titled } from './harness.ts';

/** Policies (`compilePolicy`) and identity matchers (`regexpMatcher`): from CLI flags and policy files. */

const pem = (type: 'ec' | 'rsa' | 'ed25519', options: object): string =>
  generateKeyPairSync(type as 'ec', options as { namedCurve: string }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
/** Supported keys, and keys of a kind that must be refused with KEY_INVALID. */
const GOOD_KEYS = [readFileSync(COSIGN_PUB, 'utf8'), readFileSync(OTHER_PUB, 'utf8'), pem('ec', { namedCurve: 'P-384' })];
const BAD_KEYS = [pem('ed25519', {}), pem('ec', { namedCurve: 'P-521' }), pem('ec', { namedCurve: 'secp256k1' }), pem('rsa', { modulusLength: 1024 }), GOOD_KEYS[0]?.replace('MFkw', 'MFkx') ?? ''];

const FIELDS = [
  'certificateIdentity', 'certificateIdentityRegexp', 'certificateOidcIssuer', 'certificateOidcIssuerRegexp',
  'githubWorkflowTrigger', 'githubWorkflowSha', 'githubWorkflowName', 'githubWorkflowRepository', 'githubWorkflowRef',
] as const;

/** RegExp syntax soup: every metacharacter, escapes, classes, groups, quantifiers and lookarounds. */
const regexSoup = fc.string({ unit: fc.constantFrom(...Array.from('()[]{}|*+?^$\\.-,:=!<>/'), 'a', '0', '\\d', '\\w', '\\s', '\\b', '\\p{L}', '\\u{1F600}', '(?:', '(?=', '(?!', '(?<=', '(?<n>', '\\k<n>', '\\1', '{2,3}', '[^', 'é'), maxLength: 24 });

describe('fuzz: compilePolicy', () => {
  it(titled('arbitrary policy input: a policy, POLICY_INVALID or KEY_INVALID', 'policyHostile'), () => {
    const field = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 1, arbitrary: regexSoup }, { weight: 1, arbitrary: hostileJsonValue() });
    const input = fc.record(
      {
        ...Object.fromEntries(FIELDS.map((f) => [f, field])),
        publicKey: fc.oneof(fc.constantFrom(...GOOD_KEYS, ...BAD_KEYS), hostileText(), hostileJsonValue()),
        annotations: fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom(...TRICKY_KEYS), fc.string()), fc.string(), { maxKeys: 3 }), hostileJsonValue()),
        ignoreTlogUnsafe: fc.oneof(fc.boolean(), hostileJsonValue()),
        [TRICKY_KEYS[1]]: hostileJsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof({ weight: 6, arbitrary: input }, { weight: 1, arbitrary: fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true }) }), (value) => {
        const result = outcome(() => compilePolicy(value as PolicyInput), ['POLICY_INVALID', 'KEY_INVALID']);
        const policy = result.ok ? result.value : undefined;
        if (policy?.mode === 'keyless') neverThrows(() => matches(policy.identity, 'https://github.com/x/y/.github/workflows/z.yml@refs/heads/main'), 'match');
      }),
      runs('policyHostile'),
    );
  });

  it(titled('a generated keyless or key policy compiles to the matchers, claims and key it names', 'policyRoundTrip'), () => {
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
    const matcherInput = fc.record({ value: text, regexp: fc.boolean() });
    const claims = fc.record({ trigger: text, sha: text, name: text, repository: text, ref: text }, { requiredKeys: [] });
    const annotations = fc.dictionary(text.filter((k) => k !== '__proto__'), fc.string(), { maxKeys: 3 });
    fc.assert(
      fc.property(fc.option(fc.constantFrom(...GOOD_KEYS), { nil: undefined }), matcherInput, matcherInput, claims, annotations, fc.boolean(), (key, identity, issuer, claim, ann, ignoreTlog) => {
        const common = { annotations: ann, ...(ignoreTlog ? { ignoreTlogUnsafe: true } : {}) };
        if (key !== undefined) {
          const policy = parsed(() => compilePolicy({ publicKey: key, ...common }));
          expect(policy).toMatchObject({ mode: 'key', annotations: ann, requireTlog: !ignoreTlog });
          expect(policy.mode === 'key' && policy.publicKeyDer).toEqual(createPublicKey(key).export({ type: 'spki', format: 'der' }));
          return;
        }
        const input: PolicyInput = {
          ...(identity.regexp ? { certificateIdentityRegexp: escapeRegExp(identity.value) } : { certificateIdentity: identity.value }),
          ...(issuer.regexp ? { certificateOidcIssuerRegexp: escapeRegExp(issuer.value) } : { certificateOidcIssuer: issuer.value }),
          ...(claim.trigger === undefined ? {} : { githubWorkflowTrigger: claim.trigger }),
          ...(claim.sha === undefined ? {} : { githubWorkflowSha: claim.sha }),
          ...(claim.name === undefined ? {} : { githubWorkflowName: claim.name }),
          ...(claim.repository === undefined ? {} : { githubWorkflowRepository: claim.repository }),
          ...(claim.ref === undefined ? {} : { githubWorkflowRef: claim.ref }),
          ...common,
        };
        const policy = parsed(() => compilePolicy(input));
        if (policy.mode !== 'keyless') throw new Error('expected a keyless policy');
        expect(policy).toMatchObject({ githubWorkflow: claim, annotations: ann, requireTlog: !ignoreTlog });
        expect(policy.identity.kind).toBe(identity.regexp ? 'regexp' : 'exact');
        expect(matches(policy.identity, identity.value)).toBe(true);
        expect(matches(policy.issuer, issuer.value)).toBe(true);
        expect(matches(policy.identity, `${identity.value}-evil`)).toBe(false);
        expect(matches(policy.issuer, `evil${issuer.value}`)).toBe(false);
      }),
      runs('policyRoundTrip'),
    );
  });
});

describe('fuzz: regexpMatcher', () => {
  it(titled('arbitrary sources: a matcher or POLICY_INVALID; matching never throws', 'regexpHostile'), () => {
    fc.assert(
      fc.property(fc.oneof(regexSoup, hostileText(40)), fc.string({ unit: 'binary', maxLength: 20 }), (source, value) => {
        const result = outcome(() => regexpMatcher(source, 'fuzz'), ['POLICY_INVALID']);
        if (!result.ok) return;
        neverThrows(() => matches(result.value, value), 'match');
        neverThrows(() => describeMatcher(result.value));
      }),
      // A source V8 compiles only on first match, and then refuses as too large.
      { ...runs('regexpHostile'), examples: [['A'.repeat(100_000), 'A']] },
    );
  });

  it(titled('anchoring: regexpMatcher(escape(s)) matches exactly s, never s + x or x + s', 'regexpAnchoring'), () => {
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main', 'user@example.com', 'a.b', '^$', '\n'));
    const extra = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }), fc.constantFrom('\n', '-evil', '.evil.com', '/x', '@evil'));
    fc.assert(
      fc.property(value, extra, (s, x) => {
        const matcher = parsed(() => regexpMatcher(escapeRegExp(s), 'fuzz'));
        expect(matches(matcher, s)).toBe(true);
        expect(matches(matcher, s + x)).toBe(false);
        expect(matches(matcher, x + s)).toBe(false);
        expect(matches(matcher, undefined)).toBe(false);
      }),
      runs('regexpAnchoring'),
    );
  });

  it(titled('alternation stays inside the anchors, and a source that closes the wrapper group is refused', 'regexpAlternation'), () => {
    const s = fc.string({ unit: 'binary', maxLength: 15 });
    const x = fc.string({ unit: 'binary', minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(s, s, x, (a, b, extra) => {
        const matcher = parsed(() => regexpMatcher(`${escapeRegExp(a)}|${escapeRegExp(b)}`, 'fuzz'));
        for (const ok of [a, b]) expect(matches(matcher, ok)).toBe(true);
        for (const bad of [a + extra, extra + b]) expect(matches(matcher, bad)).toBe(a === bad || b === bad);
        // The classic escape from `^(?:…)$`: close the group, add an unanchored alternative.
        outcome(() => {
          regexpMatcher(`${escapeRegExp(a)})|(?:${escapeRegExp(b)}`, 'fuzz');
          throw new Error('a source closing the wrapper group was accepted');
        }, ['POLICY_INVALID']);
      }),
      runs('regexpAlternation'),
    );
  });
});
