import { afterEach, describe, expect, it } from 'vitest';
import { ModuleGate } from '../../src/processor/index.ts';
import { staticCredentials } from '../../src/registry/index.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { anyRequest, requireBearer, startHostileRegistry } from '../adversarial/hostile-registry.ts';
import { closeServers, sendJson, startServer } from './helpers.ts';

afterEach(closeServers);

describe('ContentStores: one pool of registry authenticators per gate', () => {
  it('an authenticated gate pays the token handshake once, not on every call; and fetches each manifest once per call', async () => {
    const registry = await startHostileRegistry();
    const tokens = await startServer((_req, res) => { sendJson(res, 200, { token: 'pooled-token', expires_in: 300 }); });
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, 'pooled-token'));
    const gate = new ModuleGate({
      credentials: staticCredentials({ [registry.host]: { username: 'alice', password: 'secret' } }),
      trust: trustedRootFile(TEST_TRUSTED_ROOT),
      allowTestTrustRootUnsafe: true,
    });
    const module = { docker_tag: registry.ref('signed'), signature_certificate_identity: FIXTURE_IDENTITY, signature_certificate_oidc_issuer: FIXTURE_ISSUER };
    for (let call = 0; call < 3; call++) await gate.check(module);
    expect(tokens.requests).toHaveLength(1);
    // The tag's manifest: once per call (resolved every time, never twice in one call).
    expect(registry.requestsFor('manifests', 'signed').filter((r) => r.headers.authorization !== undefined)).toHaveLength(3);
  });
});
