import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { legacySignatureTag } from '../discovery/index.ts';
import { SigverifyError, isSigverifyError } from '../errors.ts';
import { LayoutStore } from '../layout/store.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { parseManifest } from '../oci/index.ts';
import { type GateResult, type ModulePolicyInput, gateModule } from '../processor/index.ts';
import { digestHex, parseReference } from '../reference/index.ts';
import { staticCredentials } from '../registry/index.ts';
import { type TrustSource, trustSourceFrom } from '../trust-root/index.ts';
import type { VerificationResult } from '../verify/index.ts';
import { VERSION, dependencyVersion } from '../version.ts';
import { type QualificationKit, loadKit } from './kit.ts';
import { QualificationRegistry } from './registry.ts';
import {
  QUALIFICATION_REPORT_MEDIA_TYPE,
  type QualificationCaseResult,
  type QualificationExpectation,
  type QualificationObservation,
  type QualificationReport,
} from './report.ts';
import { modifyImage, tamperSignedEntryTimestamp } from './tamper.ts';

/**
 * The operational-qualification (OQ) protocol: on the machine sigverify is
 * installed on, each case presents the module gate with one image, policy and
 * trust source from the qualification kit — the signed image, or one thing
 * changed — and records what the gate decides. Everything runs through the
 * public path a processor uses (`gateModule`: module policy → resolve the tag
 * over HTTP → discover → verify → policy → pinned reference), against an
 * in-process registry on 127.0.0.1; nothing else is contacted.
 */
export const PROTOCOL = { name: 'sigverify operational qualification', version: 1 } as const;

export interface QualificationOptions {
  /** The qualification kit (fixtures directory); default the one shipped with this installation. */
  readonly kitDirectory?: string;
  /** Called with each case's result as soon as it is known (progress output). */
  readonly onCase?: (result: QualificationCaseResult) => void;
  /** The report's date; default now. */
  readonly now?: () => Date;
}

/** What a case can reach while it prepares. */
interface CaseContext {
  readonly kit: QualificationKit;
  /** The kit's image layout, to read the fixture bytes a case modifies. */
  readonly layout: LayoutStore;
  readonly registry: QualificationRegistry;
  /** The kit's trusted root (`trusted-root` source). */
  readonly trust: TrustSource;
}

/** What the gate is given: the module (its `docker_tag` names the case's repository) and the trust source. */
interface Arranged {
  readonly module: ModulePolicyInput;
  readonly trust: TrustSource;
  readonly cleanup?: () => Promise<void>;
}

interface CaseDefinition {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  expectation(kit: QualificationKit): QualificationExpectation;
  /** Sets up the case's own repository (`qualification/<id>`) and module. */
  arrange(ctx: CaseContext, repository: string): Promise<Arranged>;
}

/** Identities and issuers no fixture is signed with. */
const OTHER_IDENTITY = 'https://github.com/example-org/another-repository/.github/workflows/release.yml@refs/tags/v2.1.0';
const OTHER_ISSUER = 'https://issuer.qualification.sigverify.test';

/** A module like a processor's configuration, requiring the kit's signer. */
function moduleFor(id: string, kit: QualificationKit, reference: string, policy: Partial<ModulePolicyInput> = {}): ModulePolicyInput {
  return {
    module_name: `qualification-${id.toLowerCase()}`,
    docker_tag: reference,
    require_signature: true,
    signature_certificate_identity: kit.signed.identity,
    signature_certificate_oidc_issuer: kit.signed.issuer,
    ...policy,
  };
}

/** Fixture bytes: a manifest of the kit's layout, by tag or digest, with its media type. */
async function fixtureManifest(ctx: CaseContext, reference: string): Promise<{ bytes: Uint8Array; mediaType: string }> {
  const fetched = await ctx.layout.getManifest(reference);
  if (fetched === undefined) throw new SigverifyError('QUALIFICATION_KIT_INVALID', `the qualification kit's layout ${ctx.kit.layout} has no manifest ${reference}`);
  return { bytes: fetched.bytes, mediaType: parseManifest(fetched.bytes, `${ctx.layout.description}@${fetched.digest}`).mediaType };
}

export const CASES: readonly CaseDefinition[] = [
  {
    id: 'OQ-01',
    title: 'Signed image passes',
    description: 'The signed image, by tag, with the identity and issuer that signed it: the gate returns the reference pinned to the signed digest.',
    expectation: (kit) => ({ outcome: 'verified', digest: kit.signed.digest }),
    arrange: (ctx, repository) => Promise.resolve({ module: moduleFor('OQ-01', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`), trust: ctx.trust }),
  },
  {
    id: 'OQ-02',
    title: 'Unsigned image fails',
    description: 'An image with no signature at all.',
    expectation: () => ({ outcome: 'refused', code: 'NO_SIGNATURES' }),
    arrange: (ctx, repository) => Promise.resolve({ module: moduleFor('OQ-02', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.unsigned.tag}`), trust: ctx.trust }),
  },
  {
    id: 'OQ-03',
    title: 'Wrong identity fails',
    description: `The signed image, with a policy requiring another signer identity (${OTHER_IDENTITY}).`,
    expectation: () => ({ outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'IDENTITY_MISMATCH' }),
    arrange: (ctx, repository) =>
      Promise.resolve({ module: moduleFor('OQ-03', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`, { signature_certificate_identity: OTHER_IDENTITY }), trust: ctx.trust }),
  },
  {
    id: 'OQ-04',
    title: 'Wrong issuer fails',
    description: `The signed image, with a policy requiring another OIDC issuer (${OTHER_ISSUER}).`,
    expectation: () => ({ outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'ISSUER_MISMATCH' }),
    arrange: (ctx, repository) =>
      Promise.resolve({ module: moduleFor('OQ-04', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`, { signature_certificate_oidc_issuer: OTHER_ISSUER }), trust: ctx.trust }),
  },
  {
    id: 'OQ-05',
    title: 'Modified image fails',
    description: 'The registry serves, under the signed tag, the signed image with one byte of its layer changed: its manifest differs only in that layer digest, so it hashes to a digest nobody signed.',
    expectation: () => ({ outcome: 'refused', code: 'NO_SIGNATURES' }),
    async arrange(ctx, repository) {
      const signed = await fixtureManifest(ctx, ctx.kit.signed.digest);
      const manifest = parseManifest(signed.bytes, `${ctx.kit.signed.tag}@${ctx.kit.signed.digest}`);
      const layer = manifest.kind === 'manifest' ? manifest.layers[0] : undefined;
      if (layer === undefined) throw new SigverifyError('QUALIFICATION_KIT_INVALID', `the kit's signed image ${ctx.kit.signed.digest} has no layer`);
      const modified = modifyImage(signed.bytes, layer.digest, await ctx.layout.getBlob(layer.digest, layer.size, DEFAULT_LIMITS.maxManifestBytes));
      const registry = ctx.registry.addRepository(repository, { manifests: { [ctx.kit.signed.tag]: { bytes: modified.manifest, mediaType: signed.mediaType } }, blobs: [modified.layer] });
      return { module: moduleFor('OQ-05', ctx.kit, `${registry}:${ctx.kit.signed.tag}`), trust: ctx.trust };
    },
  },
  {
    id: 'OQ-06',
    title: 'Signature copied to another image fails',
    description: "The signed image's .sig manifest is served as the unsigned image's signature (its sha256-<hex>.sig tag): a valid signature, but for another digest.",
    expectation: () => ({ outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'PAYLOAD_DIGEST_MISMATCH' }),
    async arrange(ctx, repository) {
      const signature = await fixtureManifest(ctx, legacySignatureTag(ctx.kit.signed.digest));
      const registry = ctx.registry.addRepository(repository, { manifests: { [legacySignatureTag(ctx.kit.unsigned.digest)]: signature } });
      return { module: moduleFor('OQ-06', ctx.kit, `${registry}:${ctx.kit.unsigned.tag}`), trust: ctx.trust };
    },
  },
  {
    id: 'OQ-07',
    title: 'Expired trust metadata fails',
    description: "The signed image, with trust from the kit's TUF repository (a tuf-directory source, into a new cache) whose timestamp metadata has expired; everything else in it is valid.",
    expectation: () => ({ outcome: 'refused', code: 'TRUST_METADATA_EXPIRED' }),
    async arrange(ctx, repository) {
      const cacheDir = await mkdtemp(join(tmpdir(), 'sigverify-qualify-tuf-'));
      const trust = trustSourceFrom({ source: 'tuf-directory', path: ctx.kit.expiredTuf.repository, root: ctx.kit.expiredTuf.root, cacheDir });
      return {
        module: moduleFor('OQ-07', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`),
        trust,
        cleanup: () => rm(cacheDir, { recursive: true, force: true }),
      };
    },
  },
  {
    id: 'OQ-08',
    title: 'Tampered log entry fails',
    description: "The signed image's .sig manifest with one byte of the Rekor signed entry timestamp (dev.sigstore.cosign/bundle) changed, served as its signature.",
    expectation: () => ({ outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'TLOG_ENTRY_INVALID' }),
    async arrange(ctx, repository) {
      const tag = legacySignatureTag(ctx.kit.signed.digest);
      const signature = await fixtureManifest(ctx, tag);
      const registry = ctx.registry.addRepository(repository, { manifests: { [tag]: { bytes: tamperSignedEntryTimestamp(signature.bytes), mediaType: signature.mediaType } } });
      return { module: moduleFor('OQ-08', ctx.kit, `${registry}:${ctx.kit.signed.tag}`), trust: ctx.trust };
    },
  },
];

/**
 * Runs every case and returns the report. Throws only when the protocol
 * cannot be run at all (the kit or its trust root is missing or damaged); a
 * case that cannot be set up is a failed case.
 */
export async function runQualification(options: QualificationOptions = {}): Promise<QualificationReport> {
  const date = (options.now ?? (() => new Date()))().toISOString();
  const kit = await loadKit(options.kitDirectory);
  const trust = trustSourceFrom({ source: 'trusted-root', path: kit.trustedRoot });
  const root = await trust.load();
  const registry = await QualificationRegistry.start(kit.layout);
  const cases: QualificationCaseResult[] = [];
  try {
    const ctx: CaseContext = { kit, layout: new LayoutStore(kit.layout), registry, trust };
    for (const definition of CASES) {
      const result = await runCase(definition, ctx);
      cases.push(result);
      options.onCase?.(result);
    }
  } finally {
    await registry.close();
  }
  const passed = cases.filter((c) => c.passed).length;
  return {
    mediaType: QUALIFICATION_REPORT_MEDIA_TYPE,
    protocol: PROTOCOL,
    date,
    host: hostname(),
    platform: `${process.platform}/${process.arch}`,
    versions: { sigverify: VERSION, node: process.versions.node, '@sigstore/verify': packageVersion('@sigstore/verify') },
    trustRoot: { source: root.source, sha256: root.digest === undefined ? '' : digestHex(root.digest) },
    kit: kit.directory,
    cases,
    summary: { total: cases.length, passed, failed: cases.length - passed },
    passed: passed === cases.length,
  };
}

async function runCase(definition: CaseDefinition, ctx: CaseContext): Promise<QualificationCaseResult> {
  const expectation = definition.expectation(ctx.kit);
  const base = { id: definition.id, title: definition.title, description: definition.description, expectation };
  let arranged: Arranged;
  try {
    arranged = await definition.arrange(ctx, `qualification/${definition.id.toLowerCase()}`);
  } catch (error) {
    const observation = refusalOf(error);
    return { ...base, observation: { ...observation, outcome: 'error', message: `the case could not be set up: ${observation.message}` }, passed: false, durationMs: 0 };
  }
  const started = performance.now();
  let observation: QualificationObservation;
  try {
    observation = verifiedObservation(await gateModule(arranged.module, { trust: arranged.trust, credentials: staticCredentials({}), allowTestTrustRootUnsafe: true }));
  } catch (error) {
    observation = refusalOf(error);
  } finally {
    await arranged.cleanup?.();
  }
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  return { ...base, observation, passed: matches(expectation, observation), durationMs };
}

function verifiedObservation(gate: GateResult): QualificationObservation {
  const signer = gate.result?.signatures.find((s) => s.outcome === 'verified');
  const by = signer === undefined ? '' : `, signed by ${signer.identity ?? 'unknown'} (issuer ${signer.issuer ?? 'unknown'})${signer.tlog === undefined ? '' : `, log index ${signer.tlog.logIndex}`}`;
  const digest = parseReference(gate.reference).digest;
  return { outcome: 'verified', reference: gate.reference, ...(digest === undefined ? {} : { digest }), message: `run ${gate.reference}${by}` };
}

function refusalOf(error: unknown): QualificationObservation {
  if (!isSigverifyError(error)) return { outcome: 'error', code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) };
  const result = error.details['result'] as VerificationResult | undefined;
  const reasons = (result?.signatures ?? []).filter((s) => s.outcome !== 'skipped').map((s) => s.reason?.code ?? s.outcome);
  return { outcome: 'refused', code: error.code, ...(reasons.length === 0 ? {} : { reasons }), message: error.message };
}

/** Same outcome; verified: pinned to the expected digest; refused: same code, and every signature evaluated rejected for the expected reason. */
export function matches(expected: QualificationExpectation, observed: QualificationObservation): boolean {
  if (expected.outcome !== observed.outcome) return false;
  if (expected.outcome === 'verified') return expected.digest === undefined || observed.digest === expected.digest;
  if (expected.code !== observed.code) return false;
  if (expected.reason === undefined) return true;
  const reasons = observed.reasons ?? [];
  return reasons.length > 0 && reasons.every((r) => r === expected.reason);
}

function packageVersion(name: string): string {
  return dependencyVersion(name) ?? 'unknown';
}
