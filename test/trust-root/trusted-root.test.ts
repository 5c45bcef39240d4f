import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustedRoot, trustedRootFile } from '../../src/trust-root/index.ts';
import { TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { PG_TRUSTED_ROOT, describeInterop, interopPath } from '../helpers/interop.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-root-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const valid = () => JSON.parse(readFileSync(TEST_TRUSTED_ROOT, 'utf8')) as { tlogs: { publicKey: { validFor: Record<string, string> } }[] };

describe('trusted_root.json files', () => {
  it('loads and records the sha256 of the exact bytes', async () => {
    const root = await trustedRootFile(TEST_TRUSTED_ROOT).load();
    expect(root.digest).toBe(parseTrustedRoot(readFileSync(TEST_TRUSTED_ROOT), 'x').digest);
    expect(root.trustedRoot.certificateAuthorities).toHaveLength(1);
  });

  it('refuses a log key without validFor.start (sigstore-js would treat it as the epoch)', () => {
    const root = valid();
    delete root.tlogs[0]?.publicKey.validFor['start'];
    expect(() => parseTrustedRoot(Buffer.from(JSON.stringify(root)), 'test')).toThrow(expect.objectContaining({ code: 'TRUST_ROOT_INVALID' }));
  });

  it.each([
    ['not JSON', '{'],
    ['not a trusted root', '{"mediaType":"application/json"}'],
    ['a wrong type', '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":{}}'],
  ])('refuses %s with TRUST_ROOT_INVALID', (_name, text) => {
    expect(() => parseTrustedRoot(Buffer.from(text), 'test')).toThrow(expect.objectContaining({ code: 'TRUST_ROOT_INVALID' }));
  });

  it('a missing file cannot be decided on: TRUST_ROOT_UNAVAILABLE', async () => {
    await expect(trustedRootFile(join(dir, 'missing.json')).load()).rejects.toMatchObject({ code: 'TRUST_ROOT_UNAVAILABLE' });
  });

  it('caps the bytes read', async () => {
    const big = join(dir, 'big.json');
    await writeFile(big, ' '.repeat(2048));
    await expect(trustedRootFile(big, 1024).load()).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });
});

describeInterop('real trusted roots', () => {
  it('accepts the public-good root', async () => {
    const root = await trustedRootFile(PG_TRUSTED_ROOT()).load();
    expect(root.trustedRoot.tlogs.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses the conformance root whose tlog key lacks validFor.start', async () => {
    const path = interopPath('sigstore-conformance', 'test', 'assets', 'bundle-verify', 'trust-root-tlog-missing-validity-start_fail', 'trusted_root.json');
    await expect(trustedRootFile(path).load()).rejects.toMatchObject({ code: 'TRUST_ROOT_INVALID' });
  });
});
