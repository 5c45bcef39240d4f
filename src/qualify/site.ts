import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as z from 'zod';
import { AuditLog, verifyAuditLog } from '../audit/index.ts';
import { legacySignatureTag } from '../discovery/index.ts';
import { SigverifyError, isSigverifyError } from '../errors.ts';
import { readFileCapped } from '../io/read-capped.ts';
import { parseJson } from '../json/parse.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { type GateOptions, type ModulePolicyInput, readPolicyFile } from '../processor/index.ts';
import { type Digest, digestHex, parseReference } from '../reference/index.ts';
import { type CredentialSource, RegistryClient, dockerConfigCredentials } from '../registry/index.ts';
import { type TrustSource, parseTrustConfig, trustSourceFrom } from '../trust-root/index.ts';
import { VERSION, dependencyVersion } from '../version.ts';
import { installationIntegrity, systemIdentity } from './installation.ts';
import { type Arranged, gateObserved } from './protocol.ts';
import {
  QUALIFICATION_REPORT_MEDIA_TYPE,
  type QualificationCaseResult,
  type QualificationExpectation,
  type QualificationReport,
  newReportId,
  tally,
} from './report.ts';
import { ScratchRepository } from './scratch.ts';

/**
 * The site protocol (`sigverify qualify --site FILE`): operational
 * qualification on the site's own installation — its registry, its trust
 * configuration, its module policy for a signed test image, its audit trail.
 * Positive and negative cases as in the shipped protocol, but on the site's
 * material: the test image passes; an unsigned image, a policy requiring
 * another identity, one requiring another issuer fail; and, where the site
 * names a scratch repository it may write to, a modified image pushed under
 * the test tag and a signature copied onto another image fail. A case the
 * site's setup does not allow is NOT EXECUTED (a deviation), never passed.
 */
export const SITE_PROTOCOL = { name: 'sigverify site operational qualification', version: 1, document: 'docs/qualification.md' } as const;

const Path = z.string().min(1);

/** The site file (JSON): what the site protocol runs against. Relative paths are taken from the file's directory. */
const SiteFileSchema = z.strictObject({
  /** The site's name, printed on the report. */
  site: z.string().min(1),
  /** The processor (service) being qualified; recorded in the report and in every audit record. */
  processor: z.string().min(1).optional(),
  /** The module policy of the site's signed test image, as the processor uses it. */
  module: Path,
  /** An image in the site's registry with no signature; without it, one is staged in the scratch repository. */
  unsigned_image: z.string().min(1).optional(),
  /** A repository the protocol may write to (`registry/repository`), for the modified-image and copied-signature cases. */
  scratch_repository: z.string().min(1).optional(),
  /** The site's trust configuration (as in `trust` of a module policy); default the module's, else what `trust init` recorded. */
  trust: z.unknown().optional(),
  /** The audit trail the qualification's decisions are appended to (the processor's own, or one kept for validation). */
  audit_log: Path.optional(),
  allow_http_registry: z.boolean().optional(),
});
export type SiteFile = z.output<typeof SiteFileSchema>;

export interface SiteQualificationOptions {
  /** Registry credentials; default the Docker config. */
  readonly credentials?: CredentialSource;
  /** Trust for a module that names none and a site file that names none (the CLI: the source `trust init` recorded). */
  readonly defaultTrust?: TrustSource;
  readonly operator?: string;
  /** Accept sigverify's own test trust root (its private keys are published): for testing the protocol itself; recorded as a deviation. */
  readonly allowTestTrustRootUnsafe?: boolean;
  readonly onCase?: (result: QualificationCaseResult) => void;
  readonly now?: () => Date;
}

/** Identities and issuers no site signs with. */
const OTHER_IDENTITY = 'https://qualification.sigverify.test/another-signer@refs/tags/never';
const OTHER_ISSUER = 'https://issuer.qualification.sigverify.test';
const IDENTITY_MEMBERS = ['signature_certificate_identity', 'signature_certificate_identity_regexp'] as const;
const ISSUER_MEMBERS = ['signature_certificate_oidc_issuer', 'signature_certificate_oidc_issuer_regexp'] as const;
const KEY_MEMBERS = ['signature_public_key', 'signature_public_key_file'] as const;

export async function readSiteFile(path: string): Promise<{ site: SiteFile; directory: string }> {
  const fail = (reason: string, cause?: unknown): SigverifyError => new SigverifyError('USAGE', `the site file ${path} is invalid: ${reason}`, cause === undefined ? {} : { cause });
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileCapped(path, DEFAULT_LIMITS.maxConfigFileBytes);
  } catch (cause) {
    throw fail((cause as Error).message, cause);
  }
  if (bytes === undefined) throw fail(`larger than ${DEFAULT_LIMITS.maxConfigFileBytes} bytes`);
  return { site: parseJson(SiteFileSchema, bytes, fail), directory: dirname(resolve(path)) };
}

interface SiteCase {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly covers: string;
  readonly expectation: QualificationExpectation;
  /** The module to gate, or why the case cannot run here. */
  readonly arrange: () => Promise<{ module: ModulePolicyInput; repeat?: number } | { notExecuted: string }>;
}

/** Runs the site protocol and returns its report (the same report format as the shipped protocol). */
export async function runSiteQualification(sitePath: string, options: SiteQualificationOptions = {}): Promise<QualificationReport> {
  const date = (options.now ?? (() => new Date()))().toISOString();
  const reportId = newReportId('OQS', date);
  const { site, directory } = await readSiteFile(sitePath);
  const credentials = options.credentials ?? dockerConfigCredentials();
  const allowHttp = site.allow_http_registry === true;
  const { value: moduleValue, baseDirectory } = await readPolicyFile(resolve(directory, site.module));
  if (typeof moduleValue !== 'object' || moduleValue === null || Array.isArray(moduleValue)) throw new SigverifyError('POLICY_INVALID', `the module policy ${site.module} is not a JSON object`);
  const module = moduleValue as ModulePolicyInput & Record<string, unknown>;
  const keyMode = KEY_MEMBERS.some((m) => module[m] !== undefined);
  const trust = site.trust === undefined ? undefined : trustSourceFrom(parseTrustConfig(site.trust, `${sitePath}: trust`));
  const work = await mkdtemp(join(tmpdir(), 'sigverify-qualify-site-'));
  const auditPath = site.audit_log === undefined ? join(work, 'audit.jsonl') : resolve(directory, site.audit_log);
  const audit = new AuditLog(auditPath, { ...(site.processor === undefined ? {} : { processor: site.processor }) });
  const gateOptions: GateOptions = {
    audit,
    credentials,
    baseDirectory,
    allowTestTrustRootUnsafe: options.allowTestTrustRootUnsafe === true,
    ...(allowHttp ? { allowHttpRegistry: true } : {}),
    ...(options.defaultTrust === undefined ? {} : { defaultTrust: options.defaultTrust }),
  };
  const testReference = parseReference(module.docker_tag);
  if (testReference.kind !== 'registry') throw new SigverifyError('USAGE', `the site's test image ${module.docker_tag} must be in a registry`);
  const testTag = testReference.tag ?? 'qualification';
  const scratch = site.scratch_repository === undefined ? undefined : new ScratchRepository(site.scratch_repository, { credentials, allowHttpRegistry: allowHttp });
  const noWrite = scratch === undefined ? 'the site file names no scratch_repository the protocol may write to' : await scratch.refusesWrites();
  const source = new RegistryClient({ registry: testReference.registry, repository: testReference.repository, credentials, allowHttp });
  /** The signed image's digest, as the positive case found it (the write cases need it). */
  let signedDigest: Digest | undefined;
  const withPolicy = (reference: string, change: Partial<Record<string, unknown>> = {}, remove: readonly string[] = []): ModulePolicyInput => {
    const copy: Record<string, unknown> = { ...module };
    for (const member of remove) Reflect.deleteProperty(copy, member);
    return { ...copy, docker_tag: reference, ...change };
  };
  const needsWrite = (then: () => Promise<{ module: ModulePolicyInput }>) => async (): Promise<{ module: ModulePolicyInput } | { notExecuted: string }> => {
    if (noWrite !== undefined) return { notExecuted: noWrite };
    if (signedDigest === undefined) return { notExecuted: 'the signed test image did not verify (OQS-01), so there is nothing to modify' };
    return then();
  };
  /** The signed image, changed: one annotation added to its manifest (another digest, the same content otherwise), its content copied first. */
  const modifiedImage = async (tag: string): Promise<Digest> => {
    const s = scratch as ScratchRepository;
    const fetched = await source.getManifest(signedDigest as Digest);
    if (fetched === undefined) throw new SigverifyError('IMAGE_NOT_FOUND', `${source.description}@${signedDigest ?? ''} disappeared during the qualification`);
    await s.copyContent(source, fetched.bytes);
    const manifest = JSON.parse(Buffer.from(fetched.bytes).toString('utf8')) as Record<string, unknown> & { mediaType?: string; annotations?: Record<string, string> };
    const modified = { ...manifest, annotations: { ...manifest.annotations, 'dev.sigverify.qualification.modified': reportId } };
    const bytes = Buffer.from(JSON.stringify(modified));
    return s.putManifest(tag, bytes, manifest.mediaType ?? fetched.contentType ?? 'application/vnd.oci.image.manifest.v1+json');
  };
  /** Copies the signed image's signature artifacts (legacy .sig tag, referrers tag) to those of `digest` in the scratch repository. */
  const copySignatures = async (to: Digest): Promise<number> => {
    const s = scratch as ScratchRepository;
    let copied = 0;
    const from = signedDigest as Digest;
    for (const [tag, target] of [[legacySignatureTag(from), legacySignatureTag(to)], [`sha256-${digestHex(from)}`, `sha256-${digestHex(to)}`]] as const) {
      if ((await source.getManifest(tag)) === undefined) continue;
      await s.copy(source, tag, target);
      copied += 1;
    }
    return copied;
  };
  const scratchRef = (tag: string): string => `${(scratch as ScratchRepository).description}:${tag}`;

  const cases: SiteCase[] = [
    {
      id: 'OQS-01',
      title: "The site's signed test image passes",
      description: `The site's module policy ${site.module} as the processor uses it (${module.docker_tag}), with the site's registry and trust.`,
      covers: 'site registry, trust configuration and module policy',
      expectation: { outcome: 'verified' },
      arrange: () => Promise.resolve({ module: withPolicy(module.docker_tag) }),
    },
    {
      id: 'OQS-02',
      title: 'An unsigned image fails',
      description: site.unsigned_image === undefined
        ? "The signed test image, changed (one manifest annotation added), pushed to the scratch repository with no signature, gated with the site's policy."
        : `The site's unsigned image ${site.unsigned_image}, gated with the site's policy.`,
      covers: 'an image without signatures is refused',
      expectation: { outcome: 'refused', code: 'NO_SIGNATURES' },
      arrange: site.unsigned_image === undefined
        ? needsWrite(async () => { await modifiedImage('oqs-02-unsigned'); return { module: withPolicy(scratchRef('oqs-02-unsigned')) }; })
        : () => Promise.resolve({ module: withPolicy(site.unsigned_image as string) }),
    },
    {
      id: 'OQS-03',
      title: 'A policy requiring another identity fails',
      description: `The signed test image, with the site's policy requiring the signer identity ${OTHER_IDENTITY} instead.`,
      covers: 'identity policy',
      expectation: { outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'IDENTITY_MISMATCH' },
      arrange: () => Promise.resolve(keyMode
        ? { notExecuted: 'the module policy uses key mode (no identity to change)' }
        : { module: withPolicy(module.docker_tag, { signature_certificate_identity: OTHER_IDENTITY }, IDENTITY_MEMBERS) }),
    },
    {
      id: 'OQS-04',
      title: 'A policy requiring another issuer fails',
      description: `The signed test image, with the site's policy requiring the OIDC issuer ${OTHER_ISSUER} instead.`,
      covers: 'issuer policy',
      expectation: { outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'ISSUER_MISMATCH' },
      arrange: () => Promise.resolve(keyMode
        ? { notExecuted: 'the module policy uses key mode (no issuer to change)' }
        : { module: withPolicy(module.docker_tag, { signature_certificate_oidc_issuer: OTHER_ISSUER }, ISSUER_MEMBERS) }),
    },
    {
      id: 'OQS-05',
      title: 'The signed image copied to the scratch repository passes',
      description: `Control for OQS-06 and OQS-07: the signed test image and its signature artifacts copied byte for byte to ${site.scratch_repository ?? 'the scratch repository'}:${testTag}.`,
      covers: 'the scratch repository serves signatures like the site registry',
      expectation: { outcome: 'verified' },
      arrange: needsWrite(async () => {
        const s = scratch as ScratchRepository;
        await s.copy(source, signedDigest as Digest, testTag);
        if ((await copySignatures(signedDigest as Digest)) === 0) throw new SigverifyError('NO_SIGNATURES', `no .sig or referrers tag of ${signedDigest ?? ''} to copy (signatures only through the referrers API are not copied)`);
        return { module: withPolicy(scratchRef(testTag)) };
      }),
    },
    {
      id: 'OQS-06',
      title: 'A modified image pushed under the test tag fails',
      description: `The signed test image with one manifest annotation added, pushed to ${site.scratch_repository ?? 'the scratch repository'} under the test tag ${testTag} (replacing the copy OQS-05 verified).`,
      covers: 'tag resolution to the digest of the bytes received',
      expectation: { outcome: 'refused', code: 'NO_SIGNATURES' },
      arrange: needsWrite(async () => {
        await modifiedImage(testTag);
        return { module: withPolicy(scratchRef(testTag)) };
      }),
    },
    {
      id: 'OQS-07',
      title: 'A signature copied onto another image fails',
      description: "The signed test image's signature artifacts copied to the signature tags of another image (the modified one, tag oqs-07) in the scratch repository.",
      covers: 'signature bound to its subject digest',
      expectation: { outcome: 'refused', code: 'NO_MATCHING_SIGNATURE' },
      arrange: needsWrite(async () => {
        const other = await modifiedImage('oqs-07');
        await copySignatures(other);
        return { module: withPolicy(scratchRef('oqs-07')) };
      }),
    },
  ];

  const results: QualificationCaseResult[] = [];
  let auditTrail: NonNullable<QualificationReport['auditTrail']>;
  let root: { source: string; sha256: string } = { source: 'not loaded', sha256: '' };
  try {
    for (const c of cases) {
      const base = { id: c.id, title: c.title, description: c.description, covers: c.covers, expectation: c.expectation };
      let arranged;
      try {
        arranged = await c.arrange();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const result: QualificationCaseResult = { ...base, observation: { outcome: 'error', code: isSigverifyError(error) ? error.code : 'INTERNAL_ERROR', message: `the case could not be set up: ${message}` }, status: 'failed', passed: false, durationMs: 0 };
        results.push(result);
        options.onCase?.(result);
        continue;
      }
      if ('notExecuted' in arranged) {
        const result: QualificationCaseResult = { ...base, status: 'not-executed', notExecuted: arranged.notExecuted, passed: false, durationMs: 0 };
        results.push(result);
        options.onCase?.(result);
        continue;
      }
      const gated: Arranged = { module: arranged.module, ...(trust === undefined ? {} : { trust }) };
      const observed = await gateObserved(gated, gateOptions, c.expectation);
      const result: QualificationCaseResult = { ...base, ...observed };
      if (c.id === 'OQS-01' && observed.observation?.outcome === 'verified') {
        signedDigest = observed.observation.digest;
        root = observed.observation.trustRoot ?? root;
      }
      results.push(result);
      options.onCase?.(result);
    }
    const chain = await verifyAuditLog(auditPath);
    auditTrail = { path: site.audit_log === undefined ? 'a new trail of this run (removed with it)' : auditPath, records: chain.records, intact: chain.ok, ...(chain.head === undefined ? {} : { head: chain.head }) };
    const recorded = results.filter((r) => r.observation !== undefined && r.observation.outcome !== 'error');
    const unrecorded = recorded.filter((r) => r.audit === undefined);
    const ok = chain.ok && unrecorded.length === 0;
    const trailCase: QualificationCaseResult = {
      id: 'OQS-08',
      title: 'The audit trail records each decision',
      description: `Every decision of this run was appended to ${site.audit_log === undefined ? 'a new audit trail' : `the site's audit trail ${auditPath}`}, with host ${hostname()}${site.processor === undefined ? '' : ` and processor ${site.processor}`}; after the last case the trail is verified (audit verify).`,
      covers: 'audit trail, audit verify',
      expectation: { outcome: 'verified' },
      observation: {
        outcome: ok ? 'verified' : 'refused',
        ...(ok ? {} : { code: 'AUDIT_CHAIN_BROKEN' }),
        message: `${recorded.length - unrecorded.length} of ${recorded.length} decisions recorded (records ${recorded.map((r) => r.audit?.seq ?? '-').join(', ')}); chain of ${chain.records} records ${chain.ok ? 'intact' : `BROKEN: ${chain.problem?.message ?? ''}`}`,
      },
      status: ok ? 'passed' : 'failed',
      passed: ok,
      durationMs: 0,
    };
    results.push(trailCase);
    options.onCase?.(trailCase);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const installation = await installationIntegrity(undefined);
  return {
    mediaType: QUALIFICATION_REPORT_MEDIA_TYPE,
    reportId,
    protocol: SITE_PROTOCOL,
    scope: [
      `The site's own installation: registry ${testReference.registry}, the module policy ${resolve(directory, site.module)}, ${site.trust === undefined ? "the trust the module or 'sigverify trust init' configures" : 'the trust configuration of the site file'}, and the audit trail ${site.audit_log === undefined ? 'of this run' : auditPath}.`,
      `Site file: ${resolve(sitePath)}. Test image: ${module.docker_tag}${site.unsigned_image === undefined ? '' : `; unsigned image: ${site.unsigned_image}`}.`,
      noWrite === undefined
        ? `The protocol wrote to the scratch repository ${site.scratch_repository ?? ''} (modified image, copied signature).`
        : `Not executed without write access: the modified-image and copied-signature cases (${noWrite}).`,
      options.allowTestTrustRootUnsafe === true
        ? "sigverify's TEST trust root was allowed for this run (see deviations)."
        : "sigverify's test trust root is refused: qualification runs on the trust the site's processor uses.",
    ],
    date,
    host: hostname(),
    platform: `${process.platform}/${process.arch}`,
    system: systemIdentity(),
    site: { name: site.site, ...(site.processor === undefined ? {} : { processor: site.processor }), ...(options.operator === undefined ? {} : { operator: options.operator }) },
    versions: { sigverify: VERSION, node: process.versions.node, '@sigstore/verify': dependencyVersion('@sigstore/verify') ?? 'unknown' },
    installation,
    trustRoot: root,
    kit: resolve(sitePath),
    auditTrail,
    cases: results,
    ...withDeviations(tally(results), options.allowTestTrustRootUnsafe === true
      ? ["sigverify's test trust root was allowed (--allow-test-trust-root-unsafe): its private keys are published, so this run does not qualify a production trust configuration"]
      : []),
  };
}

function withDeviations<T extends { deviations: QualificationReport['deviations'] }>(tallied: T, extra: readonly string[]): T {
  return { ...tallied, deviations: [...tallied.deviations, ...extra.map((text) => ({ text }))] };
}
