import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/limits.ts';
import { tufTrustSource } from '../../src/trust-root/index.ts';
import { COSIGN_PUB, OTHER_PUB, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { type TestSigstore, createTestSigstore, keylessSigner, signLegacyLayer } from '../helpers/sigstore/index.ts';
import { type ServedRepository, TestTufRepository, serveRepository } from '../helpers/tuf/index.ts';
import { closeServers } from '../registry/helpers.ts';
import { type HostileRegistry, expectRefused, startHostileRegistry, verifyAt } from './hostile-registry.ts';
import { IDENTITY, fixtureSigstore, payloadFor, publishSigned } from './signing.ts';

/**
 * Trust attacks. TUF rollback, freeze, threshold and target tampering are in
 * test/trust-root/tuf-attacks.test.ts (see INDEX.md); this file adds the
 * mix-and-match snapshot (TUF spec §1.5.2 "mix-and-match attacks") and
 * signatures chaining to certificate authorities the trust root does not
 * name, served by the hostile registry.
 */
const TRUSTED_ROOT = readFileSync(TEST_TRUSTED_ROOT);
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('TUF mix-and-match: metadata from different publications served together', () => {
  let work: string;
  let repo: TestTufRepository;
  let served: ServedRepository | undefined;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'sigverify-mix-and-match-'));
  });
  afterEach(async () => {
    await served?.close();
    served = undefined;
    await rm(work, { recursive: true, force: true });
  });

  async function repository(): Promise<TestTufRepository> {
    repo = new TestTufRepository();
    repo.setTarget('trusted_root.json', TRUSTED_ROOT);
    await writeFile(join(work, 'root.json'), repo.rootJson(1));
    return repo;
  }

  async function initialise(): Promise<unknown> {
    served ??= await serveRepository(repo);
    const source = tufTrustSource({ source: 'tuf-mirror', url: served.url, root: join(work, 'root.json'), cacheDir: join(work, 'cache') }, { limits: { ...DEFAULT_LIMITS, retryBaseDelayMs: 1 } });
    return source.initialise();
  }

  it('baseline: the latest publication verifies', async () => {
    (await repository()).publish();
    repo.publish();
    expect(await initialise()).toMatchObject({ digest: `sha256:${sha256(TRUSTED_ROOT)}` });
  });

  it('the current timestamp with the previous snapshot (version-only descriptions): TRUST_METADATA_ROLLBACK', async () => {
    (await repository()).publish({ metaHashes: false });
    const previous = repo.snapshot as Buffer;
    repo.publish({ metaHashes: false });
    served = await serveRepository(repo);
    served.overrides.set('2.snapshot.json', previous);
    await expect(initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_ROLLBACK', details: { role: 'snapshot' } });
  });

  it('the current timestamp with the previous snapshot (hashes recorded): TRUST_METADATA_INVALID', async () => {
    (await repository()).publish();
    const previous = repo.snapshot as Buffer;
    repo.publish();
    served = await serveRepository(repo);
    served.overrides.set('2.snapshot.json', previous);
    await expect(initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_INVALID', details: { role: 'snapshot' } });
  });

  it("a snapshot of the same version from another repository (signed by its own snapshot key): TRUST_METADATA_UNSIGNED", async () => {
    (await repository()).publish({ metaHashes: false });
    const foreign = new TestTufRepository();
    foreign.setTarget('trusted_root.json', TRUSTED_ROOT);
    foreign.publish({ metaHashes: false });
    served = await serveRepository(repo);
    served.overrides.set('1.snapshot.json', foreign.snapshot as Buffer);
    await expect(initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_UNSIGNED', details: { role: 'snapshot' } });
  });

  it('the current snapshot with the previous targets (hashes recorded): TRUST_METADATA_INVALID', async () => {
    (await repository()).publish();
    const previous = repo.targets as Buffer;
    repo.setTarget('trusted_root.json', readFileSync(TEST_TRUSTED_ROOT));
    repo.publish();
    served = await serveRepository(repo);
    served.overrides.set('2.targets.json', previous);
    await expect(initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_INVALID', details: { role: 'targets' } });
  });
});

describe('untrusted certificate authorities', () => {
  let sigstore: TestSigstore;
  let registry: HostileRegistry;

  beforeAll(async () => {
    sigstore = await fixtureSigstore(40_000);
  });
  afterEach(closeServers);

  it('a legacy signature from another Sigstore (fixture signed-other-sigstore): CERTIFICATE_INVALID', async () => {
    registry = await startHostileRegistry();
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed-other-sigstore')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['CERTIFICATE_INVALID']);
  });

  it('a bundle from another Sigstore (fixture bundle-other-sigstore): CERTIFICATE_INVALID', async () => {
    registry = await startHostileRegistry();
    const { reasons } = await expectRefused(verifyAt(registry.ref('bundle-other-sigstore')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['CERTIFICATE_INVALID']);
  });

  it("a rogue CA that copies the trusted CA's names, logged in the trusted Rekor: CERTIFICATE_INVALID", async () => {
    registry = await startHostileRegistry();
    // Same subject names as the fixture CA (O=sigverify.test, CN=sigverify-test…), new keys.
    const rogue = createTestSigstore({ organization: 'sigverify.test', commonName: 'sigverify-test' });
    publishSigned(registry, 'rogue-ca', (d) => [signLegacyLayer({ payload: payloadFor(d), signer: keylessSigner(rogue, IDENTITY, { sct: false }), rekor: sigstore.rekor })]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('rogue-ca')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['CERTIFICATE_INVALID']);
  });

  it('key mode: a key-signed image checked against an untrusted key: TLOG_KEY_MISMATCH (the log entry records the signing key)', async () => {
    registry = await startHostileRegistry();
    const key = readFileSync(OTHER_PUB, 'utf8');
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed-key'), {}, { publicKey: key }), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['TLOG_KEY_MISMATCH']);
    // Control: the right key verifies.
    expect((await verifyAt(registry.ref('signed-key'), {}, { publicKey: readFileSync(COSIGN_PUB, 'utf8') })).verifiedSignatures).toBe(1);
  });
});
