import { lookup } from 'node:dns/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Limits } from '../../src/limits.ts';
import type { VerificationResult } from '../../src/verify/index.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, TEST_TRUSTED_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { unusedLoopbackAddress } from '../helpers/registry/docker-registry.ts';
import { referrersTag } from '../helpers/sigstore/index.ts';
import { closeServers } from '../registry/helpers.ts';
import {
  type Behaviour,
  type HostileRegistry,
  anyRequest,
  blobOf,
  dribble,
  expectRefused,
  hang,
  manifestOf,
  resetMidBody,
  signatureBlobOf,
  startHostileRegistry,
  status,
  verifyAt,
} from './hostile-registry.ts';

/**
 * Fault injection: the registry is down, slow, failing or cut off. Every
 * fault ends in a typed "unavailable" error (CLI exit 3) within the
 * configured deadline, after a bounded number of requests (counted at the
 * server), and with nothing verified.
 */
const LIMITS: Partial<Limits> = { requestTimeoutMs: 500, verificationTimeoutMs: 2_000, retryBaseDelayMs: 10 };
/** maxRetries is 3 by default: one try and three retries. */
const ATTEMPTS = 4;
/** Time allowed past the deadline for the error to surface (timers, teardown). */
const SLACK_MS = 750;
const SIGNED = fixtureDigest('signed');

let registry: HostileRegistry;
afterEach(closeServers);

async function hostile(): Promise<HostileRegistry> {
  registry = await startHostileRegistry();
  return registry;
}

/** Verifies `reference` with the small limits and returns the refusal and how long it took. */
async function faulted(reference: string, code: 'REGISTRY_UNREACHABLE' | 'REGISTRY_TIMEOUT' | 'REGISTRY_HTTP_ERROR', options: { fetch?: typeof fetch; limits?: Partial<Limits> } = {}) {
  const limits = { ...LIMITS, ...options.limits };
  const started = performance.now();
  const refusal = await expectRefused(verifyAt(reference, { ...options, limits }), code);
  const elapsed = performance.now() - started;
  expect(refusal.error.kind).toBe('unavailable');
  expect(elapsed).toBeLessThan((limits.verificationTimeoutMs ?? 0) + SLACK_MS);
  return { ...refusal, elapsed };
}

/** A fetch that counts its calls (for a registry that is not there to count them). */
function countingFetch(): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: (input, init) => {
      calls.push(input instanceof Request ? input.url : input.toString());
      return globalThis.fetch(input, init);
    },
  };
}


/** The outcome of every signature evaluated: none verified. */
function outcomes(result: VerificationResult | undefined): string[] {
  return result?.signatures.map((s) => s.outcome) ?? [];
}

/** Answers honestly, but only after `ms`. */
const slowly = (ms: number): Behaviour => (exchange) => new Promise<void>((resolve) => { setTimeout(() => { void exchange.next().then(resolve); }, ms); });

describe('registry down', () => {
  it('connection refused: REGISTRY_UNREACHABLE after one try and three retries', async () => {
    const down = await unusedLoopbackAddress();
    const counted = countingFetch();
    const { error } = await faulted(`${down}/fixtures:signed`, 'REGISTRY_UNREACHABLE', { fetch: counted.fetch });
    expect(error.details).toMatchObject({ reason: 'ECONNREFUSED' });
    expect(counted.calls).toHaveLength(ATTEMPTS);
  });

  it('DNS failure (a .invalid host, which never resolves): REGISTRY_UNREACHABLE, quickly', async () => {
    // The test guard allows loopback only, so the lookup is made here, with the
    // error shape undici gives fetch ("fetch failed", ENOTFOUND as the cause);
    // the CLI test below goes through the real fetch.
    const counted = countingFetch();
    const resolving: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      try {
        await lookup(url.hostname);
      } catch (cause) {
        counted.calls.push(url.href);
        throw new TypeError('fetch failed', { cause });
      }
      return counted.fetch(input, init);
    };
    const { error, elapsed } = await faulted('registry.invalid/fixtures:signed', 'REGISTRY_UNREACHABLE', { fetch: resolving });
    expect(error.details).toMatchObject({ reason: 'ENOTFOUND' });
    expect(counted.calls).toHaveLength(ATTEMPTS);
    expect(elapsed).toBeLessThan(1_000);
  });
});

describe('slow registries', () => {
  it('no headers at all (the manifest request hangs): REGISTRY_TIMEOUT at requestTimeoutMs, not retried', async () => {
    await hostile();
    registry.misbehave(anyRequest, hang);
    const { elapsed } = await faulted(registry.ref('signed'), 'REGISTRY_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(registry.requests).toHaveLength(1);
  });

  it('the signature blob hangs: REGISTRY_TIMEOUT, the signature unavailable, nothing verified', async () => {
    await hostile();
    registry.misbehave(blobOf(signatureBlobOf(registry, SIGNED)), hang);
    const { result } = await faulted(registry.ref('signed'), 'REGISTRY_TIMEOUT');
    expect(outcomes(result)).toEqual(['unavailable']);
    expect(registry.requestsFor('blobs')).toHaveLength(1);
  });

  it('the manifest body dribbles one byte every 100 ms: REGISTRY_TIMEOUT (the deadline covers the body)', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), dribble(100));
    await faulted(registry.ref('signed'), 'REGISTRY_TIMEOUT');
    expect(registry.requestsFor('manifests', 'signed')).toHaveLength(1);
  });

  it('the signature blob dribbles one byte every 100 ms: REGISTRY_TIMEOUT, the signature unavailable', async () => {
    await hostile();
    registry.misbehave(blobOf(signatureBlobOf(registry, SIGNED)), dribble(100));
    const { result } = await faulted(registry.ref('signed'), 'REGISTRY_TIMEOUT');
    expect(outcomes(result)).toEqual(['unavailable']);
  });

  it('every answer 400 ms late (each within requestTimeoutMs, together past a 1 s verificationTimeoutMs): REGISTRY_TIMEOUT at the deadline', async () => {
    await hostile();
    registry.misbehave(anyRequest, slowly(400));
    // Manifest, then .sig and fallback tag together, then the blob: three rounds of 400 ms.
    const { elapsed } = await faulted(registry.ref('signed'), 'REGISTRY_TIMEOUT', { limits: { verificationTimeoutMs: 1_000 } });
    expect(elapsed).toBeGreaterThanOrEqual(950);
  });
});

describe('5xx and 429 storms', () => {
  it('503 on every request: REGISTRY_HTTP_ERROR after one try and three retries', async () => {
    await hostile();
    registry.misbehave(anyRequest, status(503));
    const { error } = await faulted(registry.ref('signed'), 'REGISTRY_HTTP_ERROR');
    expect(error.details).toMatchObject({ status: 503 });
    expect(registry.requests).toHaveLength(ATTEMPTS);
  });

  it('500, 502 and 504 in turn: REGISTRY_HTTP_ERROR after one try and three retries', async () => {
    await hostile();
    const codes = [500, 502, 504, 500];
    registry.misbehave(anyRequest, (exchange) => status(codes[registry.requests.length - 1] ?? 500)(exchange));
    await faulted(registry.ref('signed'), 'REGISTRY_HTTP_ERROR');
    expect(registry.requests).toHaveLength(ATTEMPTS);
  });

  it('429 without Retry-After: REGISTRY_HTTP_ERROR after one try and three retries, backing off', async () => {
    await hostile();
    registry.misbehave(anyRequest, status(429));
    const { error } = await faulted(registry.ref('signed'), 'REGISTRY_HTTP_ERROR');
    expect(error.details).toMatchObject({ status: 429, registryErrors: ['TOOMANYREQUESTS'] });
    expect(registry.requests).toHaveLength(ATTEMPTS);
  });

  it('429 with Retry-After: 1 (three waits of a second exceed the 2 s deadline): REGISTRY_TIMEOUT at the deadline', async () => {
    await hostile();
    registry.misbehave(anyRequest, status(429, { 'retry-after': '1' }));
    const { elapsed } = await faulted(registry.ref('signed'), 'REGISTRY_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(registry.requests.length).toBeLessThanOrEqual(3);
  });

  it('429 with Retry-After of an hour (beyond maxRetryAfterMs): REGISTRY_HTTP_ERROR at once, no retry', async () => {
    await hostile();
    registry.misbehave(anyRequest, status(429, { 'retry-after': '3600' }));
    const { elapsed } = await faulted(registry.ref('signed'), 'REGISTRY_HTTP_ERROR');
    expect(registry.requests).toHaveLength(1);
    expect(elapsed).toBeLessThan(500);
  });

  it('429 with Retry-After as an HTTP date next year: REGISTRY_HTTP_ERROR at once, no retry', async () => {
    await hostile();
    registry.misbehave(anyRequest, status(429, { 'retry-after': new Date(Date.now() + 365 * 86_400_000).toUTCString() }));
    await faulted(registry.ref('signed'), 'REGISTRY_HTTP_ERROR');
    expect(registry.requests).toHaveLength(1);
  });

  it('503 on the signature blob only: REGISTRY_HTTP_ERROR, the signature unavailable, nothing verified', async () => {
    await hostile();
    registry.misbehave(blobOf(signatureBlobOf(registry, SIGNED)), status(503));
    const { result } = await faulted(registry.ref('signed'), 'REGISTRY_HTTP_ERROR');
    expect(outcomes(result)).toEqual(['unavailable']);
    expect(registry.requestsFor('blobs')).toHaveLength(ATTEMPTS);
  });

  it('503 on the referrers fallback tag only, the .sig signature valid: REGISTRY_HTTP_ERROR, no partial verdict', async () => {
    await hostile();
    registry.misbehave(manifestOf(referrersTag(SIGNED)), status(503));
    const { result } = await faulted(registry.ref('signed'), 'REGISTRY_HTTP_ERROR');
    expect(result).toBeUndefined();
    expect(registry.requestsFor('manifests', referrersTag(SIGNED))).toHaveLength(ATTEMPTS);
  });
});

describe('connections reset mid-body', () => {
  it('the manifest connection reset after half the body: REGISTRY_UNREACHABLE after one try and three retries', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), resetMidBody);
    await faulted(registry.ref('signed'), 'REGISTRY_UNREACHABLE');
    expect(registry.requestsFor('manifests', 'signed')).toHaveLength(ATTEMPTS);
  });

  it('the signature blob connection reset mid-body: REGISTRY_UNREACHABLE, the signature unavailable', async () => {
    await hostile();
    registry.misbehave(blobOf(signatureBlobOf(registry, SIGNED)), resetMidBody);
    const { result } = await faulted(registry.ref('signed'), 'REGISTRY_UNREACHABLE');
    expect(outcomes(result)).toEqual(['unavailable']);
    expect(registry.requestsFor('blobs')).toHaveLength(ATTEMPTS);
  });

  it('one reset, then an honest answer: verified (a transient fault is retried, not fatal)', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), resetMidBody, { times: 1 });
    expect((await verifyAt(registry.ref('signed'), { limits: LIMITS })).digest).toBe(SIGNED);
    expect(registry.requestsFor('manifests', 'signed')).toHaveLength(2);
  });
});

describe('the CLI exits 3 ("could not decide")', () => {
  const args = (image: string): string[] => [
    'verify', image,
    '--certificate-identity', FIXTURE_IDENTITY,
    '--certificate-oidc-issuer', FIXTURE_ISSUER,
    '--trusted-root', TEST_TRUSTED_ROOT,
    '--output', 'json',
  ];
  const errorOf = (stdout: string): { verified: boolean; error?: { code: string } } => JSON.parse(stdout) as { verified: boolean; error?: { code: string } };

  it('registry down: exit 3, REGISTRY_UNREACHABLE, not verified', async () => {
    const run = await runCli(args(`${await unusedLoopbackAddress()}/fixtures:signed`));
    expect(run.code).toBe(3);
    expect(errorOf(run.stdout)).toMatchObject({ verified: false, error: { code: 'REGISTRY_UNREACHABLE' } });
  });

  it('a registry answering 503 to everything: exit 3, REGISTRY_HTTP_ERROR after bounded retries', async () => {
    await hostile();
    registry.misbehave(anyRequest, status(503));
    const run = await runCli(args(registry.ref('signed')));
    expect(run.code).toBe(3);
    expect(errorOf(run.stdout)).toMatchObject({ verified: false, error: { code: 'REGISTRY_HTTP_ERROR' } });
    expect(registry.requests).toHaveLength(ATTEMPTS);
  });

  it('DNS failure through the real fetch (registry.invalid): exit 3, REGISTRY_UNREACHABLE', async () => {
    const run = await runCli(args('registry.invalid/fixtures:signed'));
    expect(run.code).toBe(3);
    expect(errorOf(run.stdout)).toMatchObject({ verified: false, error: { code: 'REGISTRY_UNREACHABLE' } });
    expect(run.stderr).toContain('ENOTFOUND');
  });
});
