import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { verifyBundleFile } from '../../src/verify/index.ts';
import { runCli } from '../helpers/cli.ts';
import { describeInterop, interopPath } from '../helpers/interop.ts';

/**
 * A private Sigstore ("scaffolding") whose Rekor signs checkpoints as its pod
 * (`rekor-00001-deployment-…`), a name unrelated to the log URL in the trust
 * root. sigstore-js alone rejects it (docs/formats.md pitfall 11); sigstore-go accepts it. We
 * accept it by verifying the checkpoint with the log's key, never by skipping
 * the checkpoint: every tampered variant still fails.
 */
const D = ['sigstore-go', 'pkg', 'testing', 'data'] as const;
const ARTIFACT = { sha256: Buffer.from('bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b', 'hex') };
const POLICY = { certificateIdentity: 'foo!oidc.local', certificateOidcIssuer: 'http://oidc.local:8080' };

type Json = { verificationMaterial: { tlogEntries: { inclusionProof: { rootHash: string; hashes: string[]; checkpoint: { envelope: string } } }[] } };
const bundle = (): Json => JSON.parse(readFileSync(interopPath(...D, 'bundles', 'othername.sigstore.json'), 'utf8')) as Json;
const proof = (b: Json) => {
  const entry = b.verificationMaterial.tlogEntries[0];
  if (entry === undefined) throw new Error('no tlog entry');
  return entry.inclusionProof;
};
const verify = (b: Json) => verifyBundleFile(Buffer.from(JSON.stringify(b)), ARTIFACT, POLICY, trustedRootFile(interopPath(...D, 'trusted-roots', 'scaffolding.json')));

describeInterop('checkpoint signed under a pod name (othername.sigstore.json)', () => {
  it('verifies, with the otherName SAN identity', async () => {
    const result = await verify(bundle());
    expect(result).toMatchObject({ verified: true, identity: 'foo!oidc.local', identityKind: 'otherName', issuer: 'http://oidc.local:8080' });
  });

  describe('tampered variants still fail', () => {
    it.each([
      ['a checkpoint signature byte flipped', (b: Json) => {
        const p = proof(b);
        p.checkpoint.envelope = p.checkpoint.envelope.replace(/(\u2014 \S+ )(\S)/, (_m, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`);
      }],
      ['a checkpoint for another root hash', (b: Json) => {
        const p = proof(b);
        p.checkpoint.envelope = p.checkpoint.envelope.replace(p.rootHash, Buffer.alloc(32, 7).toString('base64'));
      }],
      ['an inclusion proof hash changed', (b: Json) => {
        const p = proof(b);
        p.hashes[0] = Buffer.alloc(32, 1).toString('base64');
      }],
      ['a root hash that does not match the checkpoint', (b: Json) => {
        proof(b).rootHash = Buffer.alloc(32, 9).toString('base64');
      }],
    ])('%s', async (_name, tamper) => {
      const b = bundle();
      tamper(b);
      await expect(verify(b)).rejects.toMatchObject({ code: 'NO_MATCHING_SIGNATURE' });
    });
  });

  it('passes through the verify-bundle command (digest mode)', async () => {
    const run = await runCli([
      'verify-bundle', '--bundle', interopPath(...D, 'bundles', 'othername.sigstore.json'),
      '--certificate-identity', POLICY.certificateIdentity, '--certificate-oidc-issuer', POLICY.certificateOidcIssuer,
      '--trusted-root', interopPath(...D, 'trusted-roots', 'scaffolding.json'),
      `sha256:${ARTIFACT.sha256.toString('hex')}`,
    ]);
    expect(run.code).toBe(0);
  });

  it('another identity fails', async () => {
    await expect(verifyBundleFile(Buffer.from(JSON.stringify(bundle())), ARTIFACT, { ...POLICY, certificateIdentity: 'foo' }, trustedRootFile(interopPath(...D, 'trusted-roots', 'scaffolding.json')))).rejects.toMatchObject({
      code: 'NO_MATCHING_SIGNATURE',
    });
  });
});
