// Differential suite: sign small images with the real cosign (v3 and v2) in the forms
// users produce, against the private Sigstore (peers/stack.sh), then verify each one
// under a table of policies with cosign (v3, and v2 where it applies), sigstore-go on
// the bundle (where there is a bundle and the policy is one sigstore-go can express)
// and sigverify's CLI, and compare the verdicts.
//
//   peers/stack.sh start && node peers/differential.ts; peers/stack.sh stop
//   npm run test:peers                     # the same, with build, venv, start and stop
//
// Cases are data: SUBJECTS (what was signed, and how) × the POLICIES each subject
// lists, plus a few negative subjects that damage what cosign stored. Prints one line
// per case, the disagreements in detail, and closes with
//   differential: N cases, A agree, D documented differences, U unexplained
// A documented difference is a disagreement listed in DOCUMENTED below and in
// docs/differential.md (the same table). Exit status 1 when U > 0; 2 when the
// infrastructure fails (a signing step, a registry edit, the stack).
//
// DIFFERENTIAL_ONLY=regexp runs only the cases whose name matches.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError, stackEnv } from './lib/stack-env.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const stack = join(here, 'stack.sh');

interface Run { code: number; out: string }

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}
function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = run(cmd, args, env);
  if (r.code !== 0) throw new InfraError(`${[cmd, ...args].join(' ')} (exit ${r.code})\n${r.out}`);
  return r.out;
}

const { need } = stackEnv();
const cosign3 = need('STACK_COSIGN3');
const cosign2 = need('STACK_COSIGN2');
const crane = need('STACK_CRANE');
const sgo = need('STACK_SGO_VERIFY');
const TR = need('STACK_TRUSTED_ROOT');
const ID = need('STACK_IDENTITY');
const ISS = need('STACK_OIDC_ISSUER');
const OLAREG = need('STACK_REG_OLAREG');
const DOCKER = need('STACK_REG_PLAIN');
const SC1 = need('STACK_SIGNING_CONFIG_REKOR1');
const SC1TSA = need('STACK_SIGNING_CONFIG_REKOR1_TSA');
const SC2 = need('STACK_SIGNING_CONFIG_REKOR2');
const stateDir = need('SIGVERIFY_STACK_DIR');
const work = join(stateDir, 'differential');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const baseEnv = { TUF_ROOT: join(stateDir, 'tuf-cache'), COSIGN_YES: 'true', COSIGN_PASSWORD: '' };
const nodeBin = join(repo, 'node_modules', '.bin', 'node');
const sigverifyCli = join(repo, 'dist', 'cli', 'bin.js');
const only = process.env.DIFFERENTIAL_ONLY === undefined ? undefined : new RegExp(process.env.DIFFERENTIAL_ONLY);

const token = (email?: string): string => must(stack, ['token', ...(email === undefined ? [] : [email])]).trim();
const OTHER_ID = 'release@sigverify.test';

// ---- registries (plain HTTP on loopback: OCI distribution spec endpoints) -------------
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT = [OCI_INDEX, OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');
const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
function split(ref: string): { reg: string; repo: string; digest: string } {
  const m = /^([^/]+)\/(.+)@(sha256:[0-9a-f]{64})$/.exec(ref);
  if (!m?.[1] || !m[2] || !m[3]) throw new InfraError(`not a digest reference: ${ref}`);
  return { reg: m[1], repo: m[2], digest: m[3] };
}
async function getManifest(reg: string, repo: string, ref: string): Promise<{ body: Buffer; type: string } | undefined> {
  const r = await fetch(`http://${reg}/v2/${repo}/manifests/${ref}`, { headers: { Accept: ACCEPT } });
  if (r.status === 404) return undefined;
  if (!r.ok) throw new InfraError(`GET manifest ${reg}/${repo}:${ref}: ${r.status}`);
  return { body: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type') ?? OCI_MANIFEST };
}
async function putManifest(reg: string, repo: string, ref: string, body: Buffer, type: string): Promise<string> {
  const r = await fetch(`http://${reg}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { 'Content-Type': type }, body: new Uint8Array(body) });
  if (!r.ok) throw new InfraError(`PUT manifest ${reg}/${repo}:${ref}: ${r.status} ${await r.text()}`);
  return sha256(body);
}
async function getBlob(reg: string, repo: string, digest: string): Promise<Buffer> {
  const r = await fetch(`http://${reg}/v2/${repo}/blobs/${digest}`);
  if (!r.ok) throw new InfraError(`GET blob ${digest}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}
async function putBlob(reg: string, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const start = await fetch(`http://${reg}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = start.headers.get('location');
  if (start.status !== 202 || loc === null) throw new InfraError(`blob upload start: ${start.status}`);
  const url = new URL(loc, `http://${reg}`);
  url.searchParams.set('digest', digest);
  const r = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(data) });
  if (!r.ok) throw new InfraError(`blob upload: ${r.status} ${await r.text()}`);
  return digest;
}
const fallbackTag = (digest: string): string => digest.replace(':', '-');
/** The referrers of an image: the OCI 1.1 referrers API (olareg), else the fallback tag. */
async function referrers(ref: string): Promise<{ index: Record<string, unknown> & { manifests: Array<Record<string, unknown>> }; api: boolean }> {
  const { reg, repo, digest } = split(ref);
  const r = await fetch(`http://${reg}/v2/${repo}/referrers/${digest}`, { headers: { Accept: OCI_INDEX } });
  if (r.ok) return { index: await r.json() as never, api: true };
  const m = await getManifest(reg, repo, fallbackTag(digest));
  if (m === undefined) throw new InfraError(`no referrers for ${ref}`);
  return { index: JSON.parse(m.body.toString()) as never, api: false };
}
const BUNDLE_TYPE = /^application\/vnd\.dev\.sigstore\.bundle/;
/** The first Sigstore bundle attached to an image (cosign v3 / v2 --new-bundle-format). */
async function fetchBundle(ref: string, file: string): Promise<void> {
  const { reg, repo } = split(ref);
  const { index } = await referrers(ref);
  const d = index.manifests.find((x) => typeof x.artifactType === 'string' && BUNDLE_TYPE.test(x.artifactType));
  if (d === undefined) throw new InfraError(`no bundle among the referrers of ${ref}`);
  const m = await getManifest(reg, repo, String(d.digest));
  if (m === undefined) throw new InfraError(`referrer ${String(d.digest)} missing`);
  const layer = (JSON.parse(m.body.toString()) as { layers: Array<{ digest: string }> }).layers[0];
  if (layer === undefined) throw new InfraError('bundle manifest without layers');
  writeFileSync(file, await getBlob(reg, repo, layer.digest));
}

// ---- images --------------------------------------------------------------------------
let imageSeq = 0;
/** A fresh single-layer image pushed as REG/differential/NAME:TAG; its digest reference. */
function image(reg: string, name: string, tag = 'v1', platform?: string): string {
  const d = mkdtempSync(join(work, 'img-'));
  writeFileSync(join(d, 'hello.txt'), `differential ${name} ${tag} ${++imageSeq} ${Date.now()}\n`);
  must('tar', ['-C', d, '--owner=0', '--group=0', '--mtime=@0', '-cf', join(d, 'layer.tar'), 'hello.txt']);
  const ref = `${reg}/differential/${name}:${tag}`;
  must(crane, ['append', '--oci-empty-base', '-f', join(d, 'layer.tar'), '-t', ref]);
  if (platform !== undefined) must(crane, ['mutate', '--set-platform', platform, ref]);
  return `${reg}/differential/${name}@${must(crane, ['digest', ref]).trim()}`;
}
/** A two-platform index (linux/amd64, linux/arm64): the index and each child by digest. */
function multiArch(reg: string, name: string): { index: string; children: Record<string, string> } {
  const children: Record<string, string> = {};
  for (const p of ['linux/amd64', 'linux/arm64']) children[p] = image(reg, name, p.replace('/', '-'), p);
  const ref = `${reg}/differential/${name}:index`;
  must(crane, ['index', 'append', ...Object.values(children).flatMap((c) => ['-m', c]), '-t', ref]);
  return { index: `${reg}/differential/${name}@${must(crane, ['digest', ref]).trim()}`, children };
}

// ---- keys, predicates, another deployment's trusted root -------------------------------
const keyDir = mkdtempSync(join(work, 'key-'));
must(cosign3, ['generate-key-pair', '--output-key-prefix', join(keyDir, 'cosign')], baseEnv);
const KEY = join(keyDir, 'cosign.key');
const PUB = join(keyDir, 'cosign.pub');
const OTHER_PUB = join(work, 'other.pub');
writeFileSync(OTHER_PUB, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
/** trusted_root.json of another deployment: the same services, other CA, log, CT and TSA keys. */
function otherTrustedRoot(): string {
  const root = JSON.parse(readFileSync(TR, 'utf8')) as {
    certificateAuthorities: Array<{ certChain: { certificates: Array<{ rawBytes: string }> } }>;
    timestampAuthorities: Array<{ certChain: { certificates: Array<{ rawBytes: string }> } }>;
    tlogs: Array<{ publicKey: { rawBytes: string; keyDetails: string }; logId: { keyId: string } }>;
    ctlogs: Array<{ publicKey: { rawBytes: string; keyDetails: string }; logId: { keyId: string } }>;
  };
  const d = mkdtempSync(join(work, 'other-root-'));
  const cert = (cn: string): string => {
    must('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(d, `${cn}.key`),
      '-subj', `/O=other deployment/CN=${cn}`, '-days', '30', '-out', join(d, `${cn}.pem`)]);
    const pem = readFileSync(join(d, `${cn}.pem`), 'utf8');
    return pem.replace(/-----[A-Z ]+-----|\s/g, '');
  };
  const ca = cert('fulcio');
  cpSync(join(d, 'fulcio.pem'), join(work, 'other-fulcio-root.pem'));
  for (const c of root.certificateAuthorities) c.certChain.certificates = [{ rawBytes: ca }];
  const tsa = cert('tsa');
  for (const t of root.timestampAuthorities) t.certChain.certificates = [{ rawBytes: tsa }];
  for (const l of [...root.tlogs, ...root.ctlogs]) {
    const kp = /ED25519/.test(l.publicKey.keyDetails) ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = kp.publicKey.export({ type: 'spki', format: 'der' });
    l.publicKey.rawBytes = der.toString('base64');
    l.logId.keyId = createHash('sha256').update(der).digest('base64');
    const pem = kp.publicKey.export({ type: 'spki', format: 'pem' });
    if (root.ctlogs.includes(l)) writeFileSync(join(work, 'other-ct.pub'), pem);
    else if (!/ED25519/.test(l.publicKey.keyDetails)) writeFileSync(join(work, 'other-rekor1.pub'), pem);
  }
  const file = join(work, 'other_trusted_root.json');
  writeFileSync(file, JSON.stringify(root, null, 2));
  return file;
}
const OTHER_TR = otherTrustedRoot();
/** The stack's signing config without a transparency log (key-based, --tlog-upload=false). */
const SC_NOLOG = join(work, 'signing_config.nolog.json');
writeFileSync(SC_NOLOG, JSON.stringify({ ...JSON.parse(readFileSync(SC1, 'utf8')) as object, rekorTlogUrls: [] }, null, 2));

const now = new Date().toISOString();
const PREDICATES: Record<string, { type: string; uri: string; body: unknown }> = {
  slsaprovenance1: {
    type: 'slsaprovenance1', uri: 'https://slsa.dev/provenance/v1',
    body: { buildDefinition: { buildType: 'https://sigverify.test/build/v1', externalParameters: { ref: 'main' } }, runDetails: { builder: { id: 'https://sigverify.test/builder' } } },
  },
  spdxjson: {
    type: 'spdxjson', uri: 'https://spdx.dev/Document',
    body: { spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: 'differential', documentNamespace: 'https://sigverify.test/spdx/differential', creationInfo: { created: now, creators: ['Tool: sigverify-differential'] }, packages: [] },
  },
  cyclonedx: {
    type: 'cyclonedx', uri: 'https://cyclonedx.org/bom',
    body: { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, components: [] },
  },
  vuln: {
    type: 'vuln', uri: 'https://cosign.sigstore.dev/attestation/vuln/v1',
    body: { invocation: { parameters: null, uri: '', event_id: '', 'builder.id': '' }, scanner: { uri: 'pkg:generic/scanner@1', version: '1', db: { uri: '', version: '' }, result: {} }, metadata: { scanStartedOn: now, scanFinishedOn: now } },
  },
};
for (const [k, p] of Object.entries(PREDICATES)) writeFileSync(join(work, `${k}.json`), JSON.stringify(p.body));
const predicateFile = (k: string): string => join(work, `${k}.json`);

// ---- signing forms ---------------------------------------------------------------------
const keyless3 = (sc: string): string[] => ['--identity-token', token(), '--signing-config', sc, '--trusted-root', TR];
const keyless2 = (): string[] => ['--identity-token', token(), '--fulcio-url', need('STACK_FULCIO_URL'), '--rekor-url', need('STACK_REKOR1_URL'), '--trusted-root', TR];
const sign3 = (img: string, ...a: string[]): void => void must(cosign3, ['sign', ...a, img], baseEnv);
const sign2 = (img: string, ...a: string[]): void => void must(cosign2, ['sign', ...a, img], baseEnv);

// ---- verifiers -------------------------------------------------------------------------
type Verifier = 'cosign3' | 'cosign2' | 'sigstore-go' | 'sigverify';
type Verdict = 'PASS' | 'FAIL';
interface Target {
  ref: string;                          // what cosign verifies (a digest reference, or a tag for re-push)
  sigverifyRef?: string;                // what sigverify verifies when it differs (the index, with --platform)
  sigverifyExtra?: string[];
  bundle?: string;                      // bundle file for sigstore-go
  digest?: string;                      // the subject digest the bundle signs
}
interface Subject {
  name: string;
  form: string;                          // for the per-form count
  kind: 'sig' | 'att';
  att?: string;                          // predicate key in PREDICATES
  legacy: boolean;                       // stored as .sig / .att tags: cosign v2 verifies too
  keyed: boolean;
  policies: string[];
  expect?: Verdict;                      // cosign's verdict for every policy (damaged subjects)
  expects?: Record<string, Verdict>;     // cosign's verdict for some policies
  prepare: () => Target | Record<string, Target> | Promise<Target | Record<string, Target>>; // several targets: one case each
}
interface Policy {
  verify: (t: Subject) => string[];      // flags shared by cosign and sigverify (trust, identity, key)
  sgo?: (t: Subject) => string[] | undefined; // sigstore-go flags, or undefined where it cannot express it
  mode?: 'verify' | 'attest' | 'attest-wrong-type' | 'as-signature';
  expect: Verdict | ((t: Subject) => Verdict);
}
const keyless = (tr = TR): string[] => ['--trusted-root', tr, '--certificate-identity', ID, '--certificate-oidc-issuer', ISS];
const sgoKeyless = (tr = TR): string[] => ['-trustedrootJSONpath', tr, '-expectedSAN', ID, '-expectedIssuer', ISS];
const POLICIES: Record<string, Policy> = {
  'identity': { verify: () => keyless(), sgo: () => sgoKeyless(), expect: 'PASS' },
  'other-identity': {
    verify: () => ['--trusted-root', TR, '--certificate-identity', OTHER_ID, '--certificate-oidc-issuer', ISS],
    sgo: () => ['-trustedrootJSONpath', TR, '-expectedSAN', OTHER_ID, '-expectedIssuer', ISS], expect: 'PASS',
  },
  'wrong-identity': {
    verify: () => ['--trusted-root', TR, '--certificate-identity', `x${ID}`, '--certificate-oidc-issuer', ISS],
    sgo: () => ['-trustedrootJSONpath', TR, '-expectedSAN', `x${ID}`, '-expectedIssuer', ISS], expect: 'FAIL',
  },
  'wrong-issuer': {
    verify: () => ['--trusted-root', TR, '--certificate-identity', ID, '--certificate-oidc-issuer', 'http://127.0.0.1:1'],
    sgo: () => ['-trustedrootJSONpath', TR, '-expectedSAN', ID, '-expectedIssuer', 'http://127.0.0.1:1'], expect: 'FAIL',
  },
  'identity-regexp-anchored': {
    verify: () => ['--trusted-root', TR, '--certificate-identity-regexp', '^ci@.*\\.test$', '--certificate-oidc-issuer', ISS],
    sgo: () => ['-trustedrootJSONpath', TR, '-expectedSANRegex', '^ci@.*\\.test$', '-expectedIssuer', ISS], expect: 'PASS',
  },
  'identity-regexp-unanchored': {
    verify: () => ['--trusted-root', TR, '--certificate-identity-regexp', 'ci@', '--certificate-oidc-issuer', ISS],
    sgo: () => ['-trustedrootJSONpath', TR, '-expectedSANRegex', 'ci@', '-expectedIssuer', ISS], expect: 'PASS',
  },
  'issuer-regexp-anchored': {
    verify: () => ['--trusted-root', TR, '--certificate-identity', ID, '--certificate-oidc-issuer-regexp', '^http://127\\.0\\.0\\.1:[0-9]+$'],
    sgo: () => ['-trustedrootJSONpath', TR, '-expectedSAN', ID, '-expectedIssuerRegex', '^http://127\\.0\\.0\\.1:[0-9]+$'], expect: 'PASS',
  },
  'issuer-regexp-unanchored': {
    verify: () => ['--trusted-root', TR, '--certificate-identity', ID, '--certificate-oidc-issuer-regexp', '127\\.0\\.0\\.1'],
    sgo: () => ['-trustedrootJSONpath', TR, '-expectedSAN', ID, '-expectedIssuerRegex', '127\\.0\\.0\\.1'], expect: 'PASS',
  },
  'other-trusted-root': { verify: () => keyless(OTHER_TR), sgo: () => sgoKeyless(OTHER_TR), expect: 'FAIL' },
  'annotation-match': { verify: () => [...keyless(), '-a', 'team=blue'], expect: 'PASS' },
  'annotation-mismatch': { verify: () => [...keyless(), '-a', 'team=red'], expect: 'FAIL' },
  'annotation-absent': { verify: () => [...keyless(), '-a', 'team=blue'], expect: 'FAIL' },
  'key': {
    verify: () => ['--trusted-root', TR, '--key', PUB],
    // a key carries no SCT: -requireCTlog=false; the log entry stays required, as in cosign
    sgo: () => ['-trustedrootJSONpath', TR, '-publicKey', PUB, '-requireCTlog=false'],
    expect: (s) => (s.name.includes('nolog') ? 'FAIL' : 'PASS'),
  },
  'key-ignore-tlog': {
    verify: () => ['--trusted-root', TR, '--key', PUB, '--insecure-ignore-tlog'],
    // no sigstore-go: sigstore-go-verification cannot drop the timestamp requirement (no flag for
    // WithNoObserverTimestamps), and -requireTlog=false stops it taking the log's integrated time
    expect: 'PASS',
  },
  'wrong-key': { verify: () => ['--trusted-root', TR, '--key', OTHER_PUB], sgo: () => ['-trustedrootJSONpath', TR, '-publicKey', OTHER_PUB, '-requireCTlog=false'], expect: 'FAIL' },
  'key-other-trusted-root': {
    verify: () => ['--trusted-root', OTHER_TR, '--key', PUB], sgo: () => ['-trustedrootJSONpath', OTHER_TR, '-publicKey', PUB, '-requireCTlog=false'], expect: 'FAIL',
  },
  // attestations: verify-attestation --type; the same bundle as a signature
  'att-type': { mode: 'attest', verify: () => keyless(), sgo: () => sgoKeyless(), expect: 'PASS' },
  'att-wrong-type': { mode: 'attest-wrong-type', verify: () => keyless(), expect: 'FAIL' },
  'att-wrong-identity': {
    mode: 'attest', verify: () => ['--trusted-root', TR, '--certificate-identity', `x${ID}`, '--certificate-oidc-issuer', ISS],
    sgo: () => ['-trustedrootJSONpath', TR, '-expectedSAN', `x${ID}`, '-expectedIssuer', ISS], expect: 'FAIL',
  },
  'att-other-trusted-root': { mode: 'attest', verify: () => keyless(OTHER_TR), sgo: () => sgoKeyless(OTHER_TR), expect: 'FAIL' },
  // cosign v3 takes an attestation bundle for a signature (see DOCUMENTED); a legacy .att is not read by verify
  'att-as-signature': { mode: 'as-signature', verify: () => keyless(), expect: (s) => (s.legacy ? 'FAIL' : 'PASS') },
};
const KEYLESS_SIG = ['identity', 'wrong-identity', 'wrong-issuer', 'identity-regexp-anchored', 'identity-regexp-unanchored',
  'issuer-regexp-anchored', 'issuer-regexp-unanchored', 'other-trusted-root', 'annotation-absent'];
const ANNOTATED = ['identity', 'wrong-identity', 'wrong-issuer', 'identity-regexp-anchored', 'identity-regexp-unanchored',
  'issuer-regexp-anchored', 'issuer-regexp-unanchored', 'other-trusted-root', 'annotation-match', 'annotation-mismatch'];
const KEYED = ['key', 'key-ignore-tlog', 'wrong-key', 'key-other-trusted-root'];
const ATT = ['att-type', 'att-wrong-type', 'att-wrong-identity', 'att-other-trusted-root', 'att-as-signature'];
const WRONG_TYPE: Record<string, string> = { slsaprovenance1: 'spdxjson', spdxjson: 'cyclonedx', cyclonedx: 'vuln', vuln: 'slsaprovenance1' };

// ---- documented differences (the same rows as docs/differential.md) ---------------------
interface Documented { cases: RegExp; verdicts: Partial<Record<Verifier, Verdict>>; why: string }
const DOCUMENTED: Documented[] = [
  {
    cases: /× (identity|issuer)-regexp-unanchored$/, verdicts: { cosign3: 'PASS', cosign2: 'PASS', 'sigstore-go': 'PASS', sigverify: 'FAIL' },
    why: 'sigverify anchors identity and issuer regexps (the whole value must match); cosign and sigstore-go search (Go regexp.MatchString)',
  },
  {
    cases: /^v2-sig-and-v3-bundle × identity$/, verdicts: { cosign3: 'FAIL', cosign2: 'FAIL', sigverify: 'PASS' },
    why: 'sigverify reads the .sig tag even when bundles exist; cosign (v3, and v2 given --trusted-root) reads only the bundles once one exists (here one from another identity)',
  },
  {
    cases: /^v3-.*-attest-.* × att-as-signature$/, verdicts: { cosign3: 'PASS', sigverify: 'FAIL' },
    why: 'an attestation is not a signature: sigverify counts a bundle as a signature only with the cosign sign predicate type; cosign v3 verify accepts any bundle whose subject is the image',
  },
];

// ---- subjects ----------------------------------------------------------------------------
const bundleTarget = async (ref: string): Promise<Target> => {
  const file = join(work, `bundle-${split(ref).digest.slice(7, 19)}.json`);
  await fetchBundle(ref, file);
  return { ref, bundle: file, digest: split(ref).digest };
};
const regName = (reg: string): string => (reg === OLAREG ? 'olareg' : 'docker');
const SUBJECTS: Subject[] = [];
for (const reg of [OLAREG, DOCKER]) {
  const r = regName(reg);
  SUBJECTS.push(
    {
      name: `v3-keyless-rekor1-${r}`, form: 'cosign v3 keyless, Rekor v1, bundle', kind: 'sig', legacy: false, keyed: false, policies: KEYLESS_SIG,
      prepare: async () => { const i = image(reg, `v3-rekor1-${r}`); sign3(i, ...keyless3(SC1)); return bundleTarget(i); },
    },
    {
      name: `v3-keyless-rekor2-tsa-${r}`, form: 'cosign v3 keyless, Rekor v2 + TSA, bundle', kind: 'sig', legacy: false, keyed: false, policies: KEYLESS_SIG,
      prepare: async () => { const i = image(reg, `v3-rekor2-${r}`); sign3(i, ...keyless3(SC2)); return bundleTarget(i); },
    },
    {
      name: `v2-keyless-legacy-${r}`, form: 'cosign v2 keyless, Rekor v1, legacy .sig', kind: 'sig', legacy: true, keyed: false, policies: KEYLESS_SIG,
      prepare: () => { const i = image(reg, `v2-legacy-${r}`); sign2(i, ...keyless2()); return { ref: i }; },
    },
  );
}
SUBJECTS.push(
  {
    name: 'v3-keyless-rekor1-tsa-olareg', form: 'cosign v3 keyless, Rekor v1 + TSA, bundle', kind: 'sig', legacy: false, keyed: false, policies: KEYLESS_SIG,
    prepare: async () => { const i = image(OLAREG, 'v3-rekor1-tsa'); sign3(i, ...keyless3(SC1TSA)); return bundleTarget(i); },
  },
  {
    name: 'v2-keyless-bundle-olareg', form: 'cosign v2 keyless --new-bundle-format, bundle', kind: 'sig', legacy: false, keyed: false, policies: KEYLESS_SIG,
    prepare: async () => {
      const i = image(OLAREG, 'v2-bundle');
      sign2(i, '--new-bundle-format', '--identity-token', token(), '--signing-config', SC1, '--trusted-root', TR);
      return bundleTarget(i);
    },
  },
  {
    name: 'v3-annotated-olareg', form: 'cosign v3 keyless -a, bundle', kind: 'sig', legacy: false, keyed: false, policies: ANNOTATED,
    prepare: async () => { const i = image(OLAREG, 'v3-annotated'); sign3(i, '-a', 'team=blue', ...keyless3(SC1)); return bundleTarget(i); },
  },
  {
    name: 'v2-annotated-docker', form: 'cosign v2 keyless -a, legacy .sig', kind: 'sig', legacy: true, keyed: false, policies: ANNOTATED,
    prepare: () => { const i = image(DOCKER, 'v2-annotated'); sign2(i, '-a', 'team=blue', ...keyless2()); return { ref: i }; },
  },
  {
    // cosign v3.1.2 `copy` (deprecated in favour of `oras copy -r`) copies the image and the
    // legacy tags but not the referrers: at the destination there is no signature to find.
    name: 'v3-copied-olareg-to-docker', form: 'cosign copy, then verify at the destination', kind: 'sig', legacy: false, keyed: false, policies: KEYLESS_SIG, expect: 'FAIL',
    prepare: () => {
      const i = image(OLAREG, 'v3-copy-src'); sign3(i, ...keyless3(SC1));
      const dst = `${DOCKER}/differential/v3-copy-dst@${split(i).digest}`;
      must(cosign3, ['copy', '-f', i, `${DOCKER}/differential/v3-copy-dst`], baseEnv);
      return { ref: dst };
    },
  },
  {
    name: 'v2-copied-olareg-to-docker', form: 'cosign copy, then verify at the destination', kind: 'sig', legacy: true, keyed: false, policies: KEYLESS_SIG,
    prepare: () => {
      const i = image(OLAREG, 'v2-copy-src'); sign2(i, ...keyless2());
      must(cosign2, ['copy', '-f', i, `${DOCKER}/differential/v2-copy-dst`], baseEnv);
      return { ref: `${DOCKER}/differential/v2-copy-dst@${split(i).digest}` };
    },
  },
);
for (const [v, legacy] of [['v3', false], ['v2', true]] as const) {
  const recursive = async (): Promise<Record<string, Target>> => {
    const m = multiArch(OLAREG, `${v}-multiarch`);
    if (v === 'v3') sign3(m.index, '--recursive', ...keyless3(SC1)); else sign2(m.index, '--recursive', ...keyless2());
    const out: Record<string, Target> = { index: v === 'v3' ? await bundleTarget(m.index) : { ref: m.index } };
    for (const [p, c] of Object.entries(m.children)) {
      out[p] = { ...(v === 'v3' ? await bundleTarget(c) : { ref: c }), sigverifyRef: m.index, sigverifyExtra: ['--platform', p] };
    }
    return out;
  };
  SUBJECTS.push({ name: `${v}-recursive-index`, form: `cosign ${v} sign --recursive, multi-arch index and --platform children`, kind: 'sig', legacy, keyed: false, policies: KEYLESS_SIG, prepare: recursive });
}
for (const [v, reg] of [['v3', OLAREG], ['v2', DOCKER]] as const) {
  const s = v === 'v3' ? sign3 : sign2;
  const legacy = v === 'v2';
  const tgt = (i: string): Promise<Target> => (legacy ? Promise.resolve({ ref: i }) : bundleTarget(i));
  SUBJECTS.push(
    {
      name: `${v}-key-rekor1-${regName(reg)}`, form: `cosign ${v} key pair, Rekor v1`, kind: 'sig', legacy, keyed: true, policies: KEYED,
      prepare: async () => {
        const i = image(reg, `${v}-key`);
        if (legacy) s(i, '--key', KEY, '--rekor-url', need('STACK_REKOR1_URL')); else s(i, '--key', KEY, '--signing-config', SC1, '--trusted-root', TR);
        return tgt(i);
      },
    },
    {
      name: `${v}-key-nolog-${regName(reg)}`, form: `cosign ${v} key pair, --tlog-upload=false`, kind: 'sig', legacy, keyed: true, policies: KEYED,
      prepare: async () => {
        const i = image(reg, `${v}-key-nolog`);
        // cosign v3.1.2 refuses --tlog-upload=false with a signing config: one without a log
        if (legacy) s(i, '--key', KEY, '--tlog-upload=false'); else s(i, '--key', KEY, '--signing-config', SC_NOLOG, '--trusted-root', TR);
        return tgt(i);
      },
    },
  );
}
for (const k of Object.keys(PREDICATES)) {
  for (const [v, sc] of [['v3-rekor1', SC1], ['v3-rekor2-tsa', SC2], ['v2-legacy', '']] as const) {
    const legacy = v === 'v2-legacy';
    SUBJECTS.push({
      name: `${v}-attest-${k}`, form: `cosign ${legacy ? 'v2 attest, legacy .att' : `v3 attest, ${v.slice(3)}`}`, kind: 'att', att: k, legacy, keyed: false, policies: ATT,
      prepare: async () => {
        const i = image(legacy ? DOCKER : OLAREG, `${v}-attest-${k}`);
        if (legacy) must(cosign2, ['attest', '--type', k, '--predicate', predicateFile(k), ...keyless2(), i], baseEnv);
        else must(cosign3, ['attest', '--type', k, '--predicate', predicateFile(k), ...keyless3(sc), i], baseEnv);
        return legacy ? { ref: i } : bundleTarget(i);
      },
    });
  }
}

// Damaged subjects: what cosign stored, re-pushed, copied or edited. Every verifier must fail.
type Json = Record<string, unknown>;
const flipB64 = (s: string): string => { const b = Buffer.from(s, 'base64'); b.writeUInt8(b.readUInt8(b.length - 1) ^ 1, b.length - 1); return b.toString('base64'); };
const tamperBody = (b64: string): string => {
  const body = JSON.parse(Buffer.from(b64, 'base64').toString()) as Json;
  (body as { spec: Json }).spec = { ...(body.spec as Json), tampered: true };
  return Buffer.from(JSON.stringify(body)).toString('base64');
};
/** Edit the legacy .sig manifest's bundle annotation (Rekor v1 SET and body) in place. */
async function editLegacySig(ref: string, edit: (bundle: { SignedEntryTimestamp: string; Payload: { body: string } }) => void): Promise<void> {
  const { reg, repo, digest } = split(ref);
  const tag = `${fallbackTag(digest)}.sig`;
  const m = await getManifest(reg, repo, tag);
  if (m === undefined) throw new InfraError(`no ${tag}`);
  const man = JSON.parse(m.body.toString()) as { layers: Array<{ annotations: Record<string, string> }> };
  for (const l of man.layers) {
    const b = JSON.parse(l.annotations['dev.sigstore.cosign/bundle'] ?? 'null') as Parameters<typeof edit>[0] | null;
    if (b === null) throw new InfraError('legacy signature without a bundle annotation');
    edit(b);
    l.annotations['dev.sigstore.cosign/bundle'] = JSON.stringify(b);
  }
  await putManifest(reg, repo, tag, Buffer.from(JSON.stringify(man)), m.type);
}
/** Edit the v3 bundle behind the docker-registry fallback tag: new blob, manifest and index. */
async function editBundle(ref: string, edit: (bundle: { verificationMaterial: { tlogEntries: Array<Json & { inclusionPromise?: { signedEntryTimestamp: string } }> } }) => void): Promise<void> {
  const { reg, repo, digest } = split(ref);
  const tag = fallbackTag(digest);
  const ix = await getManifest(reg, repo, tag);
  if (ix === undefined) throw new InfraError(`no fallback tag ${tag}`);
  const index = JSON.parse(ix.body.toString()) as { manifests: Array<{ digest: string; size: number; artifactType?: string }> };
  for (const d of index.manifests) {
    const m = await getManifest(reg, repo, d.digest);
    if (m === undefined) throw new InfraError(`missing ${d.digest}`);
    const man = JSON.parse(m.body.toString()) as { layers: Array<{ digest: string; size: number }> };
    const layer = man.layers[0];
    if (layer === undefined) throw new InfraError('no layer');
    const bundle = JSON.parse((await getBlob(reg, repo, layer.digest)).toString()) as never;
    edit(bundle);
    const data = Buffer.from(JSON.stringify(bundle));
    layer.digest = await putBlob(reg, repo, data);
    layer.size = data.length;
    const body = Buffer.from(JSON.stringify(man));
    d.digest = await putManifest(reg, repo, sha256(body), body, m.type);
    d.size = body.length;
  }
  await putManifest(reg, repo, tag, Buffer.from(JSON.stringify(index)), ix.type);
}
// Both storage forms on one image, from two identities: a cosign v2 .sig signed by ID and a
// cosign v3 bundle signed by OTHER_ID (olareg, referrers API).
SUBJECTS.push({
  name: 'v2-sig-and-v3-bundle', form: 'legacy .sig and a bundle on one image (two identities)', kind: 'sig', legacy: true, keyed: false,
  policies: ['identity', 'other-identity', 'wrong-identity'], expects: { identity: 'FAIL' },
  prepare: () => {
    const i = image(OLAREG, 'sig-and-bundle');
    sign2(i, ...keyless2());
    sign3(i, '--identity-token', token(OTHER_ID), '--signing-config', SC1, '--trusted-root', TR);
    return { ref: i };
  },
});
const damaged = (name: string, form: string, legacy: boolean, prepare: () => Target | Promise<Target>): Subject =>
  ({ name, form, kind: 'sig', legacy, keyed: false, policies: ['identity'], expect: 'FAIL', prepare });
SUBJECTS.push(
  damaged('v3-repushed-tag', 'negative: another image re-pushed under the signed tag', false, () => {
    const i = image(DOCKER, 'v3-repush', 'release'); sign3(i, ...keyless3(SC1));
    image(DOCKER, 'v3-repush', 'release');
    return { ref: `${DOCKER}/differential/v3-repush:release` };
  }),
  damaged('v2-repushed-tag', 'negative: another image re-pushed under the signed tag', true, () => {
    const i = image(DOCKER, 'v2-repush', 'release'); sign2(i, ...keyless2());
    image(DOCKER, 'v2-repush', 'release');
    return { ref: `${DOCKER}/differential/v2-repush:release` };
  }),
  damaged('v2-sig-copied-to-other-image', 'negative: signature copied to another image', true, async () => {
    const a = image(DOCKER, 'v2-sigcopy', 'a'); sign2(a, ...keyless2());
    const b = image(DOCKER, 'v2-sigcopy', 'b');
    const { reg, repo, digest } = split(a);
    const m = await getManifest(reg, repo, `${fallbackTag(digest)}.sig`);
    if (m === undefined) throw new InfraError('no .sig');
    await putManifest(reg, repo, `${fallbackTag(split(b).digest)}.sig`, m.body, m.type);
    return { ref: b };
  }),
  damaged('v3-bundle-copied-to-other-image', 'negative: signature copied to another image', false, async () => {
    const a = image(DOCKER, 'v3-sigcopy', 'a'); sign3(a, ...keyless3(SC1));
    const b = image(DOCKER, 'v3-sigcopy', 'b');
    const { reg, repo, digest } = split(a);
    const m = await getManifest(reg, repo, fallbackTag(digest));
    if (m === undefined) throw new InfraError('no fallback tag');
    await putManifest(reg, repo, fallbackTag(split(b).digest), m.body, m.type);
    return { ref: b };
  }),
  damaged('v2-legacy-tampered-tlog-body', 'negative: tampered log entry', true, async () => {
    const i = image(DOCKER, 'v2-tamper-body'); sign2(i, ...keyless2());
    await editLegacySig(i, (b) => { b.Payload.body = tamperBody(b.Payload.body); });
    return { ref: i };
  }),
  damaged('v2-legacy-tampered-set', 'negative: tampered log entry', true, async () => {
    const i = image(DOCKER, 'v2-tamper-set'); sign2(i, ...keyless2());
    await editLegacySig(i, (b) => { b.SignedEntryTimestamp = flipB64(b.SignedEntryTimestamp); });
    return { ref: i };
  }),
  damaged('v3-bundle-tampered-tlog-body', 'negative: tampered log entry', false, async () => {
    const i = image(DOCKER, 'v3-tamper-body'); sign3(i, ...keyless3(SC1));
    await editBundle(i, (b) => { for (const e of b.verificationMaterial.tlogEntries) e.canonicalizedBody = tamperBody(String(e.canonicalizedBody)); });
    return bundleTarget(i);
  }),
  damaged('v3-bundle-tampered-set', 'negative: tampered log entry', false, async () => {
    const i = image(DOCKER, 'v3-tamper-set'); sign3(i, ...keyless3(SC1));
    await editBundle(i, (b) => {
      for (const e of b.verificationMaterial.tlogEntries) if (e.inclusionPromise) e.inclusionPromise.signedEntryTimestamp = flipB64(e.inclusionPromise.signedEntryTimestamp);
    });
    return bundleTarget(i);
  }),
);

// ---- the run -----------------------------------------------------------------------------
const verdict = (r: Run): Verdict => (r.code === 0 ? 'PASS' : 'FAIL');
let n = 0; let agree = 0; let documented = 0; let unexplained = 0; let infra = 0;
const details: string[] = [];
const perForm = new Map<string, number>();
const unexpected: string[] = [];

interface Outcome { verifier: Verifier; cmd: string[]; r: Run }
function runCase(s: Subject, policyName: string, t: Target): Outcome[] {
  const p = POLICIES[policyName];
  if (p === undefined) throw new InfraError(`no policy ${policyName}`);
  const flags = p.verify(s);
  const mode = p.mode ?? 'verify';
  const attType = s.att === undefined ? 'custom' : mode === 'attest-wrong-type' ? (WRONG_TYPE[s.att] ?? 'custom') : s.att;
  const sub = mode === 'verify' || mode === 'as-signature' ? ['verify'] : ['verify-attestation', '--type', attType];
  const out: Outcome[] = [];
  const cosignCmd = (bin: string): string[] => [bin, ...sub, ...flags, t.ref];
  out.push({ verifier: 'cosign3', cmd: cosignCmd(cosign3), r: run(cosign3, cosignCmd(cosign3).slice(1), baseEnv) });
  if (s.legacy) {
    // cosign v2 verify-attestation takes --trusted-root only with --new-bundle-format: the same
    // trust through cosign v2's environment variables instead
    let cmd = cosignCmd(cosign2);
    let env2: NodeJS.ProcessEnv = baseEnv;
    const at = cmd.indexOf('--trusted-root');
    if (sub[0] === 'verify-attestation' && at > 0) {
      const other = cmd[at + 1] === OTHER_TR;
      env2 = {
        ...baseEnv,
        SIGSTORE_ROOT_FILE: other ? join(work, 'other-fulcio-root.pem') : need('STACK_FULCIO_ROOT'),
        SIGSTORE_REKOR_PUBLIC_KEY: other ? join(work, 'other-rekor1.pub') : need('STACK_REKOR1_PUB'),
        SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: other ? join(work, 'other-ct.pub') : need('STACK_CT_PUB'),
      };
      cmd = [...cmd.slice(0, at), ...cmd.slice(at + 2)];
    }
    const envShown = env2 === baseEnv ? [] : Object.entries(env2).filter(([k]) => k.startsWith('SIGSTORE_')).map(([k, v]) => `${k}=${String(v)}`);
    out.push({ verifier: 'cosign2', cmd: [...envShown, ...cmd], r: run(cosign2, cmd.slice(1), env2) });
  }
  const sg = p.sgo?.(s);
  if (sg !== undefined && t.bundle !== undefined && t.digest !== undefined && mode !== 'as-signature' && mode !== 'attest-wrong-type') {
    const cmd = [sgo, ...sg, '-artifact-digest', t.digest.slice(7), '-artifact-digest-algorithm', 'sha256', t.bundle];
    out.push({ verifier: 'sigstore-go', cmd, r: run(cmd[0] as string, cmd.slice(1)) });
  }
  const svSub = sub[0] === 'verify' ? ['verify'] : ['verify-attestation'];
  const svCmd = [nodeBin, sigverifyCli, ...svSub, t.sigverifyRef ?? t.ref, ...sub.slice(1), ...flags, ...(t.sigverifyExtra ?? [])];
  out.push({ verifier: 'sigverify', cmd: svCmd, r: run(svCmd[0] as string, svCmd.slice(1)) });
  return out;
}

function record(caseName: string, form: string, expect: Verdict, outs: Outcome[]): void {
  n++;
  perForm.set(form, (perForm.get(form) ?? 0) + 1);
  const verdicts = new Map(outs.map((o) => [o.verifier, verdict(o.r)]));
  const shown = outs.map((o) => `${o.verifier}=${verdict(o.r)}`).join(' ');
  const same = new Set(verdicts.values()).size === 1;
  let kind = 'agree';
  if (same) agree++;
  else {
    const d = DOCUMENTED.find((x) => x.cases.test(caseName) && [...verdicts].every(([k, v]) => x.verdicts[k] === undefined || x.verdicts[k] === v));
    if (d !== undefined) { documented++; kind = 'documented'; } else {
      unexplained++; kind = 'UNEXPLAINED';
      details.push(`--- ${caseName}\n${outs.map((o) => `$ ${o.cmd.join(' ')}\n[exit ${o.r.code}] ${o.r.out.trim().split('\n').slice(-12).join('\n')}`).join('\n')}`);
    }
  }
  mkdirSync(join(work, 'cases'), { recursive: true });
  writeFileSync(join(work, 'cases', `${caseName.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`),
    outs.map((o) => `$ ${o.cmd.join(' ')}\n[exit ${o.r.code}]\n${o.r.out}`).join('\n'));
  const cos = verdicts.get('cosign3');
  // expect is cosign v3's verdict as the tables here predict it; a surprise is printed, not failed
  if (cos !== expect) unexpected.push(`${caseName}: cosign3=${cos ?? '?'} expected ${expect}`);
  console.log(`${caseName.padEnd(62)} ${shown.padEnd(72)} ${kind}`);
}

const t0 = Date.now();
for (const s of SUBJECTS) {
  const cases = s.policies.map((p) => `${s.name} × ${p}`);
  if (only !== undefined && !cases.some((c) => only.test(c))) continue;
  let targets: Record<string, Target>;
  try {
    const t = await s.prepare();
    targets = 'ref' in t && typeof t.ref === 'string' ? { '': t as Target } : t as Record<string, Target>;
  } catch (e) {
    infra++;
    console.log(`${s.name}: INFRASTRUCTURE FAILURE\n${e instanceof Error ? e.message : String(e)}`);
    continue;
  }
  for (const [label, t] of Object.entries(targets)) {
    for (const p of s.policies) {
      const caseName = `${s.name}${label === '' ? '' : `[${label}]`} × ${p}`;
      if (only !== undefined && !only.test(caseName)) continue;
      const pol = POLICIES[p];
      if (pol === undefined) throw new InfraError(`no policy ${p}`);
      const expect = s.expects?.[p] ?? s.expect ?? (typeof pol.expect === 'function' ? pol.expect(s) : pol.expect);
      record(caseName, s.form, expect, runCase(s, p, t));
    }
  }
}

// ---- TUF: expired and rolled-back metadata from a mirror ----------------------------------
// A copy of the stack's TUF repository served on its own loopback port; its timestamp role
// re-signed (TUF specification 5.5: timestamp version and expiry) to make it expired, or
// to roll it back after the clients saw a newer one. Clients: sigverify `trust init
// --mirror` / `trust refresh` and cosign v3 `initialize --mirror --root`; then each
// verifies an image keyless with no --trusted-root, trust taken from its TUF cache.
const canonical = (v: unknown): string => (Array.isArray(v) ? `[${v.map(canonical).join(',')}]`
  : v !== null && typeof v === 'object' ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Json)[k])}`).join(',')}}`
    : JSON.stringify(v));
async function tufCases(): Promise<void> {
  if (only !== undefined && !only.test('tuf-') && !only.test('tuf-rotation')) return;
  const form = 'TUF mirror: sigverify trust init/refresh, cosign initialize';
  const mirror = join(work, 'tuf-mirror');
  cpSync(join(stateDir, 'tuf'), mirror, { recursive: true });
  const repoDir = join(mirror, 'repository');
  const rootFile = join(work, 'tuf-root.json');
  cpSync(join(repoDir, 'root.json'), rootFile);
  const keyFile = JSON.parse(readFileSync(join(mirror, 'keys', 'timestamp.json'), 'utf8')) as { data: Array<{ keyval: { private: string; public: string } }> };
  const kv = keyFile.data[0]?.keyval;
  if (kv === undefined) throw new InfraError('no timestamp key');
  const b64u = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64u(kv.private.slice(0, 64)), x: b64u(kv.public) }, format: 'jwk' });
  const original = readFileSync(join(repoDir, 'timestamp.json'), 'utf8');
  const signTimestamp = (edit: (signed: Json) => void): string => {
    const doc = JSON.parse(original) as { signed: Json; signatures: Array<{ keyid: string; sig: string }> };
    const sig = doc.signatures[0];
    const check = cryptoSign(null, Buffer.from(canonical(doc.signed)), key).toString('hex');
    if (sig === undefined || check !== sig.sig) throw new InfraError('canonical JSON of timestamp.json does not reproduce its signature');
    edit(doc.signed);
    sig.sig = cryptoSign(null, Buffer.from(canonical(doc.signed)), key).toString('hex');
    return JSON.stringify(doc);
  };
  const version = (JSON.parse(original) as { signed: { version: number } }).signed.version;
  const newer = signTimestamp((t) => { t.version = version + 1; });
  const expired = signTimestamp((t) => { t.version = version + 2; t.expires = '2020-01-01T00:00:00Z'; });
  const port = 8094;
  const server = spawn('python3', [join(here, 'lib', 'static_server.py'), '--bind', '127.0.0.1', '--port', String(port), '--dir', repoDir],
    { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try { if ((await fetch(`${url}/root.json`)).ok) break; } catch { /* not yet */ }
      if (i > 80) throw new InfraError(`TUF mirror on ${url} did not start`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const img = image(OLAREG, 'tuf');
    sign3(img, ...keyless3(SC1));
    const idFlags = ['--certificate-identity', ID, '--certificate-oidc-issuer', ISS];
    // one client pair per case; steps run in order, the verdict is PASS only if all succeed
    const clients = (name: string): { sv: string; cs: string } => ({ sv: join(work, `sv-tuf-${name}`), cs: join(work, `cosign-tuf-${name}`) });
    const init = (c: { sv: string; cs: string }): Outcome[] => [
      { verifier: 'sigverify', cmd: [nodeBin, sigverifyCli, 'trust', 'init', '--mirror', url, '--root', rootFile, '--cache', c.sv], r: { code: 0, out: '' } },
      { verifier: 'cosign3', cmd: [cosign3, 'initialize', '--mirror', url, '--root', rootFile], r: { code: 0, out: '' } },
    ];
    const verifySteps = (c: { sv: string; cs: string }, target = img): Outcome[] => [
      { verifier: 'sigverify', cmd: [nodeBin, sigverifyCli, 'verify', target, '--tuf-cache', c.sv, ...idFlags], r: { code: 0, out: '' } },
      { verifier: 'cosign3', cmd: [cosign3, 'verify', ...idFlags, target], r: { code: 0, out: '' } },
    ];
    const exec = (c: { sv: string; cs: string }, steps: Outcome[], acc: Map<Verifier, Outcome>): void => {
      for (const st of steps) {
        const prev = acc.get(st.verifier);
        if (prev !== undefined && prev.r.code !== 0) continue;
        const r = run(st.cmd[0] as string, st.cmd.slice(1), st.verifier === 'cosign3' ? { ...baseEnv, TUF_ROOT: c.cs } : {});
        acc.set(st.verifier, { verifier: st.verifier, cmd: prev === undefined ? st.cmd : [...prev.cmd, '&&', ...st.cmd], r: { code: r.code, out: `${prev?.r.out ?? ''}${r.out}` } });
      }
    };
    const caseOf = (name: string, expect: Verdict, steps: (acc: Map<Verifier, Outcome>) => void, caseForm = form): void => {
      if (only !== undefined && !only.test(name)) return;
      const acc = new Map<Verifier, Outcome>();
      steps(acc);
      record(name, caseForm, expect, [...acc.values()]);
    };
    writeFileSync(join(repoDir, 'timestamp.json'), original);
    caseOf('tuf-mirror-fresh × identity', 'PASS', (acc) => { const c = clients('fresh'); exec(c, [...init(c), ...verifySteps(c)], acc); });
    writeFileSync(join(repoDir, 'timestamp.json'), expired);
    caseOf('tuf-mirror-expired-timestamp × identity', 'FAIL', (acc) => { const c = clients('expired'); exec(c, [...init(c), ...verifySteps(c)], acc); });
    // The air-gapped path: sigverify exports the verified repository from a connected cache
    // (`trust export`) and a second cache is initialised from that directory alone
    // (`trust init --from-dir`), as a site carries it on removable media; cosign beside it
    // initialises from the mirror with the same initial root.
    writeFileSync(join(repoDir, 'timestamp.json'), original);
    caseOf('tuf-air-gapped-export × identity', 'PASS', (acc) => {
      const c = clients('export');
      const exported = join(work, 'tuf-exported');
      const airGapped = join(work, 'sv-tuf-air-gapped');
      exec(c, [
        ...init(c),
        { verifier: 'sigverify', cmd: [nodeBin, sigverifyCli, 'trust', 'export', exported, '--tuf-cache', c.sv], r: { code: 0, out: '' } },
        { verifier: 'sigverify', cmd: [nodeBin, sigverifyCli, 'trust', 'init', '--from-dir', exported, '--root', rootFile, '--tuf-cache', airGapped], r: { code: 0, out: '' } },
        { verifier: 'sigverify', cmd: [nodeBin, sigverifyCli, 'verify', img, '--tuf-cache', airGapped, ...idFlags], r: { code: 0, out: '' } },
        verifySteps(c)[1] as Outcome,
      ], acc);
    });
    caseOf('tuf-rolled-back-timestamp × identity', 'FAIL', (acc) => {
      const c = clients('rollback');
      writeFileSync(join(repoDir, 'timestamp.json'), newer);
      exec(c, init(c), acc);
      writeFileSync(join(repoDir, 'timestamp.json'), original);
      exec(c, [
        { verifier: 'sigverify', cmd: [nodeBin, sigverifyCli, 'trust', 'refresh', '--cache', c.sv], r: { code: 0, out: '' } },
        // not `cosign initialize` again: it clears the cache (cmd/cosign/cli/initialize/init.go,
        // os.RemoveAll) and starts over from the given root; verify updates the cached metadata
        ...verifySteps(c)], acc);
    });
    rotationCases({ mirror, img, rootFile, clients, init, verifySteps, exec, caseOf });
  } finally {
    if (server.pid !== undefined) process.kill(server.pid, 'SIGTERM');
  }
}
// ---- TUF: a key rotation -------------------------------------------------------------------
// How a Sigstore deployment rotates (the public-good instance did it for Fulcio's
// intermediate and Rekor's shards): the trusted root gains the next CA and the next log key,
// each valid from the rotation time, and the old ones get an end there. Published as a new
// targets version in the mirror with the `tuf` CLI; clients that initialised before it pick
// it up on refresh. The stack runs the next Fulcio (file CA) and the next Rekor v1 (a new
// tree and key) beside the first ones. An old-key signature made before the rotation still
// verifies; one made after it (the old keys still in someone's hands) must not, and the new
// keys are unknown to a client that never saw the rotation.
interface TrustedRootDoc {
  certificateAuthorities: Array<{ uri: string; subject?: unknown; certChain: { certificates: Array<{ rawBytes: string }> }; validFor: { start: string; end?: string } }>;
  tlogs: Array<{ baseUrl: string; hashAlgorithm: string; publicKey: { rawBytes: string; keyDetails: string; validFor: { start: string; end?: string } }; logId: { keyId: string } }>;
}
const pemBody = (file: string): string => readFileSync(file, 'utf8').replace(/-----[A-Z ]+-----|\s/g, '');
/** The trusted root after the rotation; with `overlap`, the old keys never end (what the
 *  signers below are given, so cosign's own checks at signing time do not stand in the way). */
function rotatedTrustedRoot(at: string, overlap = false): string {
  const root = JSON.parse(readFileSync(TR, 'utf8')) as TrustedRootDoc;
  const ca = root.certificateAuthorities.find((c) => c.uri === need('STACK_FULCIO_URL'));
  const log = root.tlogs.find((l) => l.baseUrl === need('STACK_REKOR1_URL'));
  if (ca === undefined || log === undefined) throw new InfraError('the stack\'s trusted root lacks its Fulcio or Rekor v1');
  if (!overlap) {
    ca.validFor.end = at;
    log.publicKey.validFor.end = at;
  }
  root.certificateAuthorities.push({
    ...ca, uri: need('STACK_FULCIO_NEXT_URL'),
    certChain: { certificates: [{ rawBytes: pemBody(need('STACK_FULCIO_NEXT_ROOT')) }] }, validFor: { start: at },
  });
  const der = Buffer.from(pemBody(need('STACK_REKOR1_NEXT_PUB')), 'base64');
  root.tlogs.push({
    baseUrl: need('STACK_REKOR1_NEXT_URL'), hashAlgorithm: log.hashAlgorithm,
    publicKey: { rawBytes: der.toString('base64'), keyDetails: log.publicKey.keyDetails, validFor: { start: at } },
    logId: { keyId: createHash('sha256').update(der).digest('base64') },
  });
  const file = join(work, overlap ? 'overlapping_trusted_root.json' : 'rotated_trusted_root.json');
  writeFileSync(file, JSON.stringify(root, null, 2));
  return file;
}
interface TufCaseKit {
  mirror: string; img: string; rootFile: string;
  clients: (name: string) => { sv: string; cs: string };
  init: (c: { sv: string; cs: string }) => Outcome[];
  verifySteps: (c: { sv: string; cs: string }, target?: string) => Outcome[];
  exec: (c: { sv: string; cs: string }, steps: Outcome[], acc: Map<Verifier, Outcome>) => void;
  caseOf: (name: string, expect: Verdict, steps: (acc: Map<Verifier, Outcome>) => void, caseForm?: string) => void;
}
function rotationCases(kit: TufCaseKit): void {
  if (only !== undefined && !only.test('tuf-rotation')) return;
  const form = 'TUF key rotation: next Fulcio CA and Rekor key, validity windows';
  const k = { ...kit, caseOf: (name: string, expect: Verdict, steps: (acc: Map<Verifier, Outcome>) => void): void => { kit.caseOf(name, expect, steps, form); } };
  const idFlags = ['--certificate-identity', ID, '--certificate-oidc-issuer', ISS];
  const sleep = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };
  // A client that knows the trust root from before the rotation (k.img was signed then).
  const early = k.clients('rotation-early');
  const setup = new Map<Verifier, Outcome>();
  k.exec(early, k.init(early), setup);
  for (const o of setup.values()) if (o.r.code !== 0) throw new InfraError(`TUF client init before the rotation: ${o.r.out}`);
  // Integrated times and certificate validity are whole seconds: keep a second either side.
  sleep(1100);
  const at = new Date(Math.ceil(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  sleep(2100);
  const rotated = rotatedTrustedRoot(at);
  const overlapping = rotatedTrustedRoot(at, true);
  const sc = JSON.parse(readFileSync(SC1, 'utf8')) as { caUrls: Array<{ url: string }>; rekorTlogUrls: Array<{ url: string }> };
  /** Signs a new image after the rotation with the given CA and log (first or next). */
  const signAfter = (name: string, ca: string, rekor: string): string => {
    const file = join(work, `signing_config.${name}.json`);
    writeFileSync(file, JSON.stringify({
      ...sc,
      caUrls: sc.caUrls.map((u) => ({ ...u, url: ca })),
      rekorTlogUrls: sc.rekorTlogUrls.map((u) => ({ ...u, url: rekor })),
    }, null, 2));
    const ref = image(OLAREG, `tuf-rotation-${name}`);
    sign3(ref, '--identity-token', token(), '--signing-config', file, '--trusted-root', overlapping);
    return ref;
  };
  const [fulcio, fulcioNext, rekor, rekorNext] = ['STACK_FULCIO_URL', 'STACK_FULCIO_NEXT_URL', 'STACK_REKOR1_URL', 'STACK_REKOR1_NEXT_URL'].map(need) as [string, string, string, string];
  const withNext = signAfter('next', fulcioNext, rekorNext);
  const oldAfter = signAfter('old-after', fulcio, rekor);
  // each of the two windows on its own: a certificate from the old CA logged in the next log,
  // and one from the next CA logged in the old log
  const oldCa = signAfter('old-ca-next-log', fulcio, rekorNext);
  const oldLog = signAfter('next-ca-old-log', fulcioNext, rekor);
  // Publish: the rotated trusted_root.json as the next targets version (go-tuf's CLI, the
  // repository's own keys), then snapshot and timestamp.
  const tuf = need('STACK_TUF_CLI');
  cpSync(rotated, join(k.mirror, 'staged', 'targets', 'trusted_root.json'));
  for (const args of [['add', '--expires=365', 'trusted_root.json'], ['snapshot', '--expires=365'], ['timestamp', '--expires=365'], ['commit']]) {
    const r = spawnSync(tuf, ['--insecure-plaintext', ...args], { cwd: k.mirror, encoding: 'utf8' });
    if (r.status !== 0) throw new InfraError(`tuf ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  }
  const refresh = (c: { sv: string; cs: string }): Outcome =>
    ({ verifier: 'sigverify', cmd: [nodeBin, sigverifyCli, 'trust', 'refresh', '--cache', c.sv], r: { code: 0, out: '' } });
  k.caseOf('tuf-rotation-next-keys-after-refresh × identity', 'PASS', (acc) => { k.exec(early, [refresh(early), ...k.verifySteps(early, withNext)], acc); });
  // (sigverify refreshes in each case so that any one of them can run alone; cosign's verify
  // updates its TUF cache itself)
  k.caseOf('tuf-rotation-old-keys-within-window × identity', 'PASS', (acc) => { k.exec(early, [refresh(early), ...k.verifySteps(early, k.img)], acc); });
  k.caseOf('tuf-rotation-old-keys-after-window × identity', 'FAIL', (acc) => { k.exec(early, [refresh(early), ...k.verifySteps(early, oldAfter)], acc); });
  k.caseOf('tuf-rotation-old-ca-after-window × identity', 'FAIL', (acc) => { k.exec(early, [refresh(early), ...k.verifySteps(early, oldCa)], acc); });
  k.caseOf('tuf-rotation-old-log-after-window × identity', 'FAIL', (acc) => { k.exec(early, [refresh(early), ...k.verifySteps(early, oldLog)], acc); });
  k.caseOf('tuf-rotation-fresh-client-next-keys × identity', 'PASS', (acc) => {
    const c = k.clients('rotation-fresh');
    k.exec(c, [...k.init(c), ...k.verifySteps(c, withNext)], acc);
  });
  // Without the rotation the next keys are strangers: the stack's original trusted root.
  k.caseOf('tuf-rotation-next-keys-original-root × identity', 'FAIL', (acc) => { k.exec(early, [
    { verifier: 'sigverify', cmd: [nodeBin, sigverifyCli, 'verify', withNext, '--trusted-root', TR, ...idFlags], r: { code: 0, out: '' } },
    { verifier: 'cosign3', cmd: [cosign3, 'verify', '--trusted-root', TR, ...idFlags, withNext], r: { code: 0, out: '' } },
  ], acc); });
  // The rotated root as a file, for the old key after its window (no TUF client involved).
  k.caseOf('tuf-rotation-old-keys-after-window-file × identity', 'FAIL', (acc) => { k.exec(early, [
    { verifier: 'sigverify', cmd: [nodeBin, sigverifyCli, 'verify', oldAfter, '--trusted-root', rotated, ...idFlags], r: { code: 0, out: '' } },
    { verifier: 'cosign3', cmd: [cosign3, 'verify', '--trusted-root', rotated, ...idFlags, oldAfter], r: { code: 0, out: '' } },
  ], acc); });
}

try {
  await tufCases();
} catch (e) {
  infra++;
  console.log(`tuf: INFRASTRUCTURE FAILURE\n${e instanceof Error ? e.message : String(e)}`);
}

console.log(`\nper form (${Math.round((Date.now() - t0) / 1000)} s):`);
for (const [f, c] of perForm) console.log(`  ${String(c).padStart(4)}  ${f}`);
if (unexpected.length > 0) console.log(`\ncosign v3 verdicts other than the table predicts:\n  ${unexpected.join('\n  ')}`);
if (details.length > 0) console.log(`\n${details.join('\n')}`);
if (infra > 0) console.log(`\n${infra} subject(s) could not be prepared (infrastructure)`);
writeFileSync(join(work, 'summary.txt'), `${n} ${agree} ${documented} ${unexplained} ${infra}\n`);
console.log(`differential: ${n} cases, ${agree} agree, ${documented} documented differences, ${unexplained} unexplained`);
process.exitCode = infra > 0 ? 2 : unexplained === 0 ? 0 : 1;
