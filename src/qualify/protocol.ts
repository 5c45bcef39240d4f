import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEntry, AuditLog, type AuditRecord, verifyAuditLog } from '../audit/index.ts';
import { ResultCache } from '../cache/index.ts';
import { legacySignatureTag } from '../discovery/index.ts';
import { SigverifyError, isSigverifyError } from '../errors.ts';
import { LayoutStore } from '../layout/store.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { parseManifest } from '../oci/index.ts';
import { type GateOptions, type GateResult, type ModulePolicyInput, ModuleGate } from '../processor/index.ts';
import { type Digest, digestHex, parseReference } from '../reference/index.ts';
import { staticCredentials } from '../registry/index.ts';
import { type TrustSource, trustSourceFrom } from '../trust-root/index.ts';
import { VERSION, dependencyVersion } from '../version.ts';
import { installationIntegrity, systemIdentity } from './installation.ts';
import { type QualificationKit, loadKit } from './kit.ts';
import { QualificationRegistry } from './registry.ts';
import {
  QUALIFICATION_REPORT_MEDIA_TYPE,
  type QualificationCaseResult,
  type QualificationExpectation,
  type QualificationObservation,
  type QualificationReport,
  newReportId,
  tally,
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
export const PROTOCOL = { name: 'sigverify operational qualification', version: 2, document: 'docs/qualification.md' } as const;

/** What the shipped protocol qualifies, and on what: printed at the top of the report. */
const KIT_SCOPE = [
  "The gate's decisions (module policy → resolve → discover → verify → policy → pinned reference), through the same public path a processor uses, over HTTP to a registry on 127.0.0.1.",
  "Material: the qualification kit shipped with this installation (fixture images signed by a private TEST Sigstore whose private keys are published, and that test trust root). It shows the installed program behaves as specified; it does not qualify the site's registry, trust configuration or module policies (run qualify --site for that).",
  'Covered: legacy .sig signatures, cosign v3 bundles through the referrers API and through the fallback tag, key mode, required attestations, platform selection in a multi-arch index, the result cache, the audit trail, expired TUF metadata and a tampered log entry.',
] as const;

/** Site and people, as given on the command line. */
export interface SiteFields {
  readonly name?: string;
  readonly processor?: string;
  readonly operator?: string;
}

export interface QualificationOptions {
  /** The qualification kit (fixtures directory); default the one shipped with this installation. */
  readonly kitDirectory?: string;
  /** Called with each case's result as soon as it is known (progress output). */
  readonly onCase?: (result: QualificationCaseResult) => void;
  /** The report's date; default now. */
  readonly now?: () => Date;
  readonly site?: SiteFields;
}

/** What a case can reach while it prepares. */
interface CaseContext {
  readonly kit: ProtocolKit;
  /** The protocol's gate options (its audit trail); a case adds its own. */
  readonly gate: GateOptions;
  /** The kit's image layout, to read the fixture bytes a case modifies. */
  readonly layout: LayoutStore;
  readonly registry: QualificationRegistry;
  /** The kit's trusted root (`trusted-root` source). */
  readonly trust: TrustSource;
}

/** What the gate is given: the module (its `docker_tag` names the case's repository) and the trust source. */
export interface Arranged {
  readonly module: ModulePolicyInput;
  /** Overrides the module's trust (absent: the module's, else the gate's default). */
  readonly trust?: TrustSource;
  /** Gate options of this case (a result cache). */
  readonly options?: Partial<GateOptions>;
  /** Gate the module this many times through one gate (default 1); the last decision is the observation. */
  readonly repeat?: number;
  readonly cleanup?: () => Promise<void>;
}

/** The kit, with what the protocol derives from it. */
type ProtocolKit = QualificationKit & { readonly platformDigest: Digest };

interface CaseDefinition {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly covers: string;
  expectation(kit: ProtocolKit): QualificationExpectation;
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

const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';

/** A key-mode module: the public key instead of identity and issuer. */
function keyModuleFor(id: string, reference: string, publicKey: string): ModulePolicyInput {
  return { module_name: `qualification-${id.toLowerCase()}`, docker_tag: reference, require_signature: true, signature_public_key_file: publicKey };
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
    covers: 'legacy .sig, keyless (Fulcio certificate, Rekor entry)',
    expectation: (kit) => ({ outcome: 'verified', digest: kit.signed.digest }),
    arrange: (ctx, repository) => Promise.resolve({ module: moduleFor('OQ-01', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`), trust: ctx.trust }),
  },
  {
    id: 'OQ-02',
    title: 'Unsigned image fails',
    description: 'An image with no signature at all.',
    covers: 'discovery finds nothing',
    expectation: () => ({ outcome: 'refused', code: 'NO_SIGNATURES' }),
    arrange: (ctx, repository) => Promise.resolve({ module: moduleFor('OQ-02', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.unsigned.tag}`), trust: ctx.trust }),
  },
  {
    id: 'OQ-03',
    title: 'Wrong identity fails',
    description: `The signed image, with a policy requiring another signer identity (${OTHER_IDENTITY}).`,
    covers: 'identity policy (exact match)',
    expectation: () => ({ outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'IDENTITY_MISMATCH' }),
    arrange: (ctx, repository) =>
      Promise.resolve({ module: moduleFor('OQ-03', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`, { signature_certificate_identity: OTHER_IDENTITY }), trust: ctx.trust }),
  },
  {
    id: 'OQ-04',
    title: 'Wrong issuer fails',
    description: `The signed image, with a policy requiring another OIDC issuer (${OTHER_ISSUER}).`,
    covers: 'issuer policy (exact match)',
    expectation: () => ({ outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'ISSUER_MISMATCH' }),
    arrange: (ctx, repository) =>
      Promise.resolve({ module: moduleFor('OQ-04', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`, { signature_certificate_oidc_issuer: OTHER_ISSUER }), trust: ctx.trust }),
  },
  {
    id: 'OQ-05',
    title: 'Modified image fails',
    description: 'The registry serves, under the signed tag, the signed image with one byte of its layer changed: its manifest differs only in that layer digest, so it hashes to a digest nobody signed.',
    covers: 'tag resolution to the digest of the bytes received',
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
    covers: 'signature bound to its subject digest',
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
    covers: 'TUF trust metadata freshness',
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
    covers: 'transparency-log entry verification (SET)',
    expectation: () => ({ outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'TLOG_ENTRY_INVALID' }),
    async arrange(ctx, repository) {
      const tag = legacySignatureTag(ctx.kit.signed.digest);
      const signature = await fixtureManifest(ctx, tag);
      const registry = ctx.registry.addRepository(repository, { manifests: { [tag]: { bytes: tamperSignedEntryTimestamp(signature.bytes), mediaType: signature.mediaType } } });
      return { module: moduleFor('OQ-08', ctx.kit, `${registry}:${ctx.kit.signed.tag}`), trust: ctx.trust };
    },
  },
  {
    id: 'OQ-09',
    title: 'cosign v3 bundle through the referrers API passes',
    description: 'The image signed by cosign v3 (a Sigstore bundle v0.3 attached as an OCI referrer), on a registry that serves the referrers API and no referrers tag.',
    covers: 'cosign v3 bundle, OCI referrers API, DSSE, RFC 3161 timestamp',
    expectation: (kit) => ({ outcome: 'verified', digest: kit.images['bundle-signed'].digest }),
    arrange: (ctx, repository) =>
      Promise.resolve({ module: moduleFor('OQ-09', ctx.kit, `${ctx.registry.addRepository(repository, { referrersApi: true })}:${ctx.kit.images['bundle-signed'].tag}`), trust: ctx.trust }),
  },
  {
    id: 'OQ-10',
    title: 'cosign v3 bundle through the fallback tag passes',
    description: 'The same image on a registry without the referrers API: the bundle is found through the sha256-<hex> referrers tag (distribution-spec fallback).',
    covers: 'cosign v3 bundle, referrers fallback tag',
    expectation: (kit) => ({ outcome: 'verified', digest: kit.images['bundle-signed'].digest }),
    arrange: (ctx, repository) => Promise.resolve({ module: moduleFor('OQ-10', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.images['bundle-signed'].tag}`), trust: ctx.trust }),
  },
  {
    id: 'OQ-11',
    title: 'Key mode passes with the signing key',
    description: "An image signed with a key pair (cosign sign --key), with a policy that names the kit's public key instead of an identity; its Rekor entry is verified too.",
    covers: 'key mode (signature_public_key_file), legacy .sig',
    expectation: (kit) => ({ outcome: 'verified', digest: kit.images['signed-key'].digest }),
    arrange: (ctx, repository) =>
      Promise.resolve({
        module: keyModuleFor('OQ-11', `${ctx.registry.addRepository(repository)}:${ctx.kit.images['signed-key'].tag}`, ctx.kit.publicKey),
        trust: ctx.trust,
      }),
  },
  {
    id: 'OQ-12',
    title: 'Key mode fails with another key',
    description: 'The keyless-signed image, with a key-mode policy naming the key of the key-signed image: no signature was made with that key.',
    covers: 'key mode refuses signatures of other signers',
    expectation: () => ({ outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'KEY_MISMATCH' }),
    arrange: (ctx, repository) =>
      Promise.resolve({ module: keyModuleFor('OQ-12', `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`, ctx.kit.publicKey), trust: ctx.trust }),
  },
  {
    id: 'OQ-13',
    title: 'Required attestation present passes',
    description: `An image with a cosign signature and a SLSA provenance attestation (bundles, referrers tag), with required_attestations: [${SLSA_PROVENANCE}].`,
    covers: 'required_attestations, in-toto/DSSE attestation bundle',
    expectation: (kit) => ({ outcome: 'verified', digest: kit.images['bundle-multi'].digest }),
    arrange: (ctx, repository) =>
      Promise.resolve({
        module: moduleFor('OQ-13', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.images['bundle-multi'].tag}`, { required_attestations: [SLSA_PROVENANCE] }),
        trust: ctx.trust,
      }),
  },
  {
    id: 'OQ-14',
    title: 'Required attestation missing fails',
    description: `The signed image, which has no attestation, with required_attestations: [${SLSA_PROVENANCE}]: the signature verifies, the module is still refused.`,
    covers: 'required_attestations refuse a signed image without them',
    expectation: () => ({ outcome: 'refused', code: 'ATTESTATION_NOT_VERIFIED' }),
    arrange: (ctx, repository) =>
      Promise.resolve({
        module: moduleFor('OQ-14', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`, { required_attestations: [SLSA_PROVENANCE] }),
        trust: ctx.trust,
      }),
  },
  {
    id: 'OQ-15',
    title: 'Platform of a signed multi-arch index',
    description: 'A multi-arch index whose index digest is signed, with platform: linux/arm64: the gate verifies the index signature and pins the linux/arm64 image.',
    covers: '--platform / module platform, OCI image index',
    expectation: (kit) => ({ outcome: 'verified', digest: kit.platformDigest }),
    arrange: (ctx, repository) =>
      Promise.resolve({ module: moduleFor('OQ-15', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.images.multiarch.tag}`, { platform: 'linux/arm64' }), trust: ctx.trust }),
  },
  {
    id: 'OQ-16',
    title: 'Result cache reuses a decision',
    description: 'The signed image gated twice through one gate with a result cache (in a new private directory): the second decision is the cached one, for the same digest (the tag is resolved again).',
    covers: 'result cache (--result-cache)',
    expectation: (kit) => ({ outcome: 'verified', digest: kit.signed.digest, cached: true }),
    async arrange(ctx, repository) {
      const directory = await mkdtemp(join(tmpdir(), 'sigverify-qualify-cache-'));
      return {
        module: moduleFor('OQ-16', ctx.kit, `${ctx.registry.addRepository(repository)}:${ctx.kit.signed.tag}`),
        trust: ctx.trust,
        options: { cache: new ResultCache({ directory: join(directory, 'cache') }) },
        repeat: 2,
        cleanup: () => rm(directory, { recursive: true, force: true }),
      };
    },
  },
];

/**
 * Runs every case and returns the report. Throws only when the protocol
 * cannot be run at all (the kit or its trust root is missing or damaged); a
 * case that cannot be set up is a failed case. Every decision is recorded in
 * an audit trail of the run, which is verified after the last case.
 */
export async function runQualification(options: QualificationOptions = {}): Promise<QualificationReport> {
  const date = (options.now ?? (() => new Date()))().toISOString();
  const loaded = await loadKit(options.kitDirectory);
  const layout = new LayoutStore(loaded.layout);
  const kit: ProtocolKit = { ...loaded, platformDigest: await platformDigest(layout, loaded, 'linux/arm64') };
  const trust = trustSourceFrom({ source: 'trusted-root', path: kit.trustedRoot });
  const root = await trust.load();
  const installation = await installationIntegrity(kit.directory);
  const work = await mkdtemp(join(tmpdir(), 'sigverify-qualify-'));
  const auditPath = join(work, 'audit.jsonl');
  const audit = new AuditLog(auditPath, { fsync: false, ...(options.site?.processor === undefined ? {} : { processor: options.site.processor }) });
  const registry = await QualificationRegistry.start(kit.layout);
  const cases: QualificationCaseResult[] = [];
  let auditTrail: NonNullable<QualificationReport['auditTrail']>;
  try {
    const ctx: CaseContext = { kit, gate: { audit }, layout, registry, trust };
    for (const definition of CASES) {
      const result = await runCase(definition, ctx);
      cases.push(result);
      options.onCase?.(result);
    }
    const chain = await verifyAuditLog(auditPath);
    auditTrail = { path: 'a new trail of this run (removed with it)', records: chain.records, intact: chain.ok, ...(chain.head === undefined ? {} : { head: chain.head }) };
    const trailCase = auditCase(cases, chain.ok, chain.records);
    cases.push(trailCase);
    options.onCase?.(trailCase);
  } finally {
    await registry.close();
    await rm(work, { recursive: true, force: true });
  }
  return {
    mediaType: QUALIFICATION_REPORT_MEDIA_TYPE,
    reportId: newReportId('OQ', date),
    protocol: PROTOCOL,
    scope: KIT_SCOPE,
    date,
    host: hostname(),
    platform: `${process.platform}/${process.arch}`,
    system: systemIdentity(),
    site: options.site ?? {},
    versions: { sigverify: VERSION, node: process.versions.node, '@sigstore/verify': packageVersion('@sigstore/verify') },
    installation,
    trustRoot: { source: root.source, sha256: root.digest === undefined ? '' : digestHex(root.digest) },
    kit: kit.directory,
    auditTrail,
    cases,
    ...tally(cases),
  };
}

/** The last case: every decision of the run is in the audit trail, in order, with the decision the case observed, and the chain verifies. */
function auditCase(cases: readonly QualificationCaseResult[], intact: boolean, records: number): QualificationCaseResult {
  const gated = cases.filter((c) => c.observation !== undefined && c.observation.outcome !== 'error');
  const expectedRecords = gated.reduce((n, c) => n + (c.id === 'OQ-16' ? 2 : 1), 0);
  const missing = gated.filter((c) => c.audit === undefined || c.audit.decision !== auditDecisionOf(c.observation as QualificationObservation));
  const ok = intact && records === expectedRecords && missing.length === 0;
  const message = ok
    ? `${records} records (one per gate decision), hash chain intact, each with the decision its case observed`
    : `${records} records, expected ${expectedRecords}; chain ${intact ? 'intact' : 'BROKEN'}; ${missing.length === 0 ? 'every case recorded' : `not recorded as observed: ${missing.map((c) => c.id).join(', ')}`}`;
  return {
    id: 'OQ-17',
    title: 'Audit trail records every decision',
    description: "Every gate decision of this run was appended to a new hash-chained audit trail; after the last case the trail is verified (audit verify) and each case's record is compared with what the case observed.",
    covers: 'audit trail (--audit-log), audit verify',
    expectation: { outcome: 'verified' },
    observation: { outcome: ok ? 'verified' : 'refused', ...(ok ? {} : { code: 'AUDIT_CHAIN_BROKEN' }), message },
    status: ok ? 'passed' : 'failed',
    passed: ok,
    durationMs: 0,
  };
}

/** The audit decision a case's observation corresponds to. */
function auditDecisionOf(o: QualificationObservation): string {
  if (o.outcome === 'verified') return 'verified';
  return o.kind === 'unavailable' ? 'unavailable' : o.kind === 'usage' ? 'invalid' : 'rejected';
}

/** The digest of `platform`'s image in the kit's multi-arch index. */
async function platformDigest(layout: LayoutStore, kit: QualificationKit, platform: string): Promise<Digest> {
  const fetched = await layout.getManifest(kit.images.multiarch.digest);
  const index = fetched === undefined ? undefined : parseManifest(fetched.bytes, `${kit.images.multiarch.tag}@${kit.images.multiarch.digest}`);
  const [os, architecture] = platform.split('/');
  const child = index?.kind === 'index' ? index.manifests.find((m) => m.platform?.os === os && m.platform?.architecture === architecture) : undefined;
  if (child === undefined) throw new SigverifyError('QUALIFICATION_KIT_INVALID', `the qualification kit's multi-arch image ${kit.images.multiarch.digest} has no ${platform} image`);
  return child.digest;
}

async function runCase(definition: CaseDefinition, ctx: CaseContext): Promise<QualificationCaseResult> {
  const expectation = definition.expectation(ctx.kit);
  const base = { id: definition.id, title: definition.title, description: definition.description, covers: definition.covers, expectation };
  let arranged: Arranged;
  try {
    arranged = await definition.arrange(ctx, `qualification/${definition.id.toLowerCase()}`);
  } catch (error) {
    const observation = refusalOf(error);
    return { ...base, observation: { ...observation, outcome: 'error', message: `the case could not be set up: ${observation.message}` }, status: 'failed', passed: false, durationMs: 0 };
  }
  return { ...base, ...(await gateObserved(arranged, ctx.gate, expectation)) };
}

/** Gates the arranged module (as many times as it says, through one gate) and observes the last decision. */
export async function gateObserved(arranged: Arranged, options: GateOptions, expectation: QualificationExpectation): Promise<Pick<QualificationCaseResult, 'observation' | 'status' | 'passed' | 'durationMs' | 'audit'>> {
  // The record of the last decision, refusals included (the gate throws those without their record).
  let last: AuditRecord | undefined;
  const sink = options.audit;
  const audit = sink === undefined ? undefined : { append: async (entry: AuditEntry) => (last = await sink.append(entry)) };
  const gate = new ModuleGate({
    ...options,
    ...arranged.options,
    ...(audit === undefined ? {} : { audit }),
    ...(arranged.trust === undefined ? {} : { trust: arranged.trust }),
    credentials: options.credentials ?? staticCredentials({}),
    allowTestTrustRootUnsafe: options.allowTestTrustRootUnsafe ?? true,
  });
  let observation: QualificationObservation;
  let started = performance.now();
  try {
    for (let i = 1; i < (arranged.repeat ?? 1); i++) await gate.check(arranged.module);
    started = performance.now();
    observation = verifiedObservation(await gate.check(arranged.module));
  } catch (error) {
    observation = refusalOf(error);
  } finally {
    await arranged.cleanup?.();
  }
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  const passed = matches(expectation, observation);
  return { observation, status: passed ? 'passed' : 'failed', passed, durationMs, ...(last === undefined ? {} : { audit: { seq: last.seq, decision: last.decision, hash: last.hash } }) };
}

function verifiedObservation(gate: GateResult): QualificationObservation {
  const signer = gate.result?.signatures.find((s) => s.outcome === 'verified');
  const who = signer?.identity === undefined ? 'the policy\'s public key' : `${signer.identity} (issuer ${signer.issuer ?? 'unknown'})`;
  const by = signer === undefined ? '' : `, signed by ${who}${signer.tlog === undefined ? '' : `, log index ${signer.tlog.logIndex}`}`;
  const digest = parseReference(gate.reference).digest;
  const root = gate.result?.trustRoot;
  const trustRoot = root === undefined ? {} : { trustRoot: { source: root.source, sha256: root.digest === undefined ? '' : digestHex(root.digest) } };
  return { outcome: 'verified', reference: gate.reference, ...(digest === undefined ? {} : { digest }), ...trustRoot, cached: gate.cached, message: `run ${gate.reference}${by}${gate.cached ? ' (cached decision)' : ''}` };
}

function refusalOf(error: unknown): QualificationObservation {
  if (!isSigverifyError(error)) return { outcome: 'error', code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) };
  const { result } = error;
  const reasons = (result?.signatures ?? []).filter((s) => s.outcome !== 'skipped').map((s) => s.reason?.code ?? s.outcome);
  return { outcome: 'refused', code: error.code, kind: error.kind, ...(reasons.length === 0 ? {} : { reasons }), message: error.message };
}

/** Same outcome; verified: pinned to the expected digest; refused: same code, and every signature evaluated rejected for the expected reason. */
export function matches(expected: QualificationExpectation, observed: QualificationObservation): boolean {
  if (expected.outcome !== observed.outcome) return false;
  if (expected.outcome === 'verified') return (expected.digest === undefined || observed.digest === expected.digest) && (expected.cached === undefined || observed.cached === expected.cached);
  if (expected.code !== observed.code) return false;
  if (expected.reason === undefined) return true;
  const reasons = observed.reasons ?? [];
  return reasons.length > 0 && reasons.every((r) => r === expected.reason);
}

function packageVersion(name: string): string {
  return dependencyVersion(name) ?? 'unknown';
}
