import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/cli/args.ts';
import { parseTrustCommand } from '../../src/cli/trust-args.ts';
import { PREDICATE_TYPE_ALIASES } from '../../src/cosign/index.ts';
import { charOf, hostileText, referenceArb } from './arbitraries.ts';
import { fc, outcome, parsed, runs, titled } from './harness.ts';

/** Command lines (`parseCommand`, `parseTrustCommand`): what a script or a person passes to sigverify. */

const VERIFY_FLAGS = [
  '--certificate-identity', '--certificate-identity-regexp', '--certificate-oidc-issuer', '--certificate-oidc-issuer-regexp',
  '--certificate-github-workflow-repository', '--certificate-github-workflow-ref', '--certificate-github-workflow-sha',
  '--certificate-github-workflow-trigger', '--certificate-github-workflow-name', '--annotations', '-a', '--key',
  '--insecure-ignore-tlog', '--insecure-ignore-tlog=true', '--insecure-ignore-tlog=false', '--insecure-ignore-tlog=maybe',
  '--trusted-root', '--ca-roots', '--ca-intermediates', '--tuf-cache', '--allow-http-registry', '--signature-repository',
  '--output', '-o', '--type', '--platform', '--allow-expired-trust-metadata-unsafe', '--help', '-h', '--bundle', '--staging',
  '--cache', '--mirror', '--from-dir', '--public-good', '--root', '--warn-days', '--', '-', '--unknown', '-z',
];
const COMMANDS = ['verify', 'verify-attestation', 'verify-bundle', 'help', 'version', '--version', 'doctor', 'trust', 'init', 'status', 'refresh', 'export', ''];
const argument = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom(...VERIFY_FLAGS) },
  { weight: 20, arbitrary: fc.tuple(fc.constantFrom(...VERIFY_FLAGS), hostileText(20)).map(([f, v]) => `${f}=${v}`) },
  { weight: 30, arbitrary: hostileText(30) },
  { weight: 10, arbitrary: fc.constantFrom('k=v', 'k=v,k=w', '=v', 'k', ',', 'json', 'text', 'linux/amd64', 'slsaprovenance1', `sha256:${'a'.repeat(64)}`, 'custom') },
  // Just under the argv size cap: util.parseArgs is quadratic in short-option groups.
  { weight: 1, arbitrary: fc.constantFrom(`-x${'b'.repeat(16_000)}`, `--key=${'k'.repeat(16_000)}`) },
);

describe('fuzz: command lines', () => {
  it(titled('arbitrary argument vectors: a command or USAGE, never another error', 'cliHostile'), () => {
    fc.assert(
      fc.property(fc.constantFrom(...COMMANDS), fc.array(argument, { maxLength: 8 }), fc.option(hostileText(20), { nil: undefined }), (command, args, cosignRepository) => {
        const env = cosignRepository === undefined ? {} : { COSIGN_REPOSITORY: cosignRepository };
        outcome(() => parseCommand([command, ...args], env), ['USAGE']);
        outcome(() => parseTrustCommand([command, ...args]), ['USAGE']);
      }),
      // util.parseArgs is quadratic in short-option groups: these took seconds before the argv cap.
      { ...runs('cliHostile'), examples: [['refresh', [`-a${'b'.repeat(100_000)}`], undefined], ['verify', [`-x${'b'.repeat(100_000)}`, 'image'], undefined]] },
    );
  });

  it(titled('a generated cosign-style verify command line parses to its image, policy and options', 'cliRoundTrip'), () => {
    const value = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((v) => !v.startsWith('-'));
    // `-a -k=v` is ambiguous to parseArgs (the value looks like an option): keys start with a letter or digit.
    const annotationKey = fc.tuple(charOf('abcXYZ09'), fc.string({ unit: charOf('abcXYZ09._-/'), maxLength: 9 })).map(([a, b]) => a + b);
    const annotationValue = fc.string({ unit: charOf('abc09 ._-/:='), maxLength: 10 });
    fc.assert(
      fc.property(
        fc.constantFrom('verify' as const, 'verify-attestation' as const),
        referenceArb,
        value,
        value,
        fc.boolean(),
        fc.dictionary(annotationKey, annotationValue, { maxKeys: 3 }),
        fc.boolean(),
        fc.constantFrom('text' as const, 'json' as const, undefined),
        fc.option(fc.constantFrom(...Object.keys(PREDICATE_TYPE_ALIASES)), { nil: undefined }),
        fc.option(fc.constantFrom('linux/amd64', 'linux/arm64/v8'), { nil: undefined }),
        (command, ref, identity, issuer, regexp, annotations, ignoreTlog, output, type, platform) => {
          const args = [
            command,
            ...(regexp ? ['--certificate-identity-regexp', identity] : [`--certificate-identity=${identity}`]),
            '--certificate-oidc-issuer', issuer,
            ...Object.entries(annotations).flatMap(([k, v]) => ['-a', `${k}=${v}`]),
            ...(ignoreTlog ? ['--insecure-ignore-tlog=true'] : []),
            ...(output === undefined ? [] : ['-o', output]),
            ...(type === undefined || command === 'verify' ? [] : ['--type', type]),
            ...(platform === undefined ? [] : [`--platform=${platform}`]),
            ref.text,
          ];
          const result = parsed(() => parseCommand(args, {}));
          expect(result).toMatchObject({
            command,
            image: ref.text,
            policy: {
              ...(regexp ? { certificateIdentityRegexp: identity } : { certificateIdentity: identity }),
              certificateOidcIssuer: issuer,
              ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
              ...(ignoreTlog ? { ignoreTlogUnsafe: true } : {}),
            },
            output: output ?? 'text',
            predicateType: command === 'verify' ? undefined : (type ?? 'custom'),
            platform,
          });
        },
      ),
      runs('cliRoundTrip'),
    );
  });
});
