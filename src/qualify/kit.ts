import { isAbsolute, join, relative, resolve } from 'node:path';
import * as z from 'zod';
import { SigverifyError } from '../errors.ts';
import { readFileCapped } from '../io/read-capped.ts';
import { parseJson } from '../json/parse.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { type Digest, isDigest } from '../reference/index.ts';
import { shippedPath, valueAtStartup } from '../shipped.ts';

/**
 * The qualification kit: the fixtures shipped in the package (`files` in
 * package.json) — the signed OCI image layout, the private test Sigstore's
 * trusted_root.json, the expired TUF repository and `fixtures.json`, which
 * says what each image is and which policy verifies it. Located next to the
 * code (src/shipped.ts), or carried inside the single executable (located
 * when sigverify starts: src/shipped.ts, `valueAtStartup`).
 */
export let DEFAULT_KIT_DIRECTORY: string = valueAtStartup(() => shippedPath('fixtures'), (value) => {
  DEFAULT_KIT_DIRECTORY = value;
});

export interface KitImage {
  readonly tag: string;
  readonly digest: Digest;
}

export interface QualificationKit {
  /** The fixtures directory. */
  readonly directory: string;
  readonly layout: string;
  readonly trustedRoot: string;
  /** The TUF repository whose timestamp has expired, and its initial root. */
  readonly expiredTuf: { readonly repository: string; readonly root: string };
  /** The signed image, with the keyless identity and issuer that verify it under `trustedRoot`. */
  readonly signed: KitImage & { readonly identity: string; readonly issuer: string };
  readonly unsigned: KitImage;
  /** The other images the protocol uses, by their fixtures.json name (`bundle-signed`, `signed-key`, `bundle-multi`, `multiarch`). */
  readonly images: Readonly<Record<KitImageName, KitImage>>;
  /** The public key `signed-key` is signed with (its private half is not shipped). */
  readonly publicKey: string;
}

/** Images the protocol needs besides `signed` and `unsigned`. */
export const KIT_IMAGES = ['bundle-signed', 'signed-key', 'bundle-multi', 'multiarch'] as const;
export type KitImageName = (typeof KIT_IMAGES)[number];

const DigestString = z.string().refine(isDigest, 'digest must be sha256:<64 lowercase hex>');
const Path = z.string().min(1);
const Expectation = z.looseObject({
  trustedRoot: z.string(),
  outcome: z.string(),
  policy: z.looseObject({ kind: z.string(), identity: z.looseObject({ value: z.string().min(1) }).optional(), issuer: z.string().min(1).optional() }),
});
const Image = z.looseObject({ tag: z.string().min(1), digest: DigestString, expectations: z.array(Expectation) });
/** The members of fixtures.json the protocol reads (fixtures/README.md describes the whole document). */
const FixturesIndex = z.looseObject({
  version: z.literal(1),
  layout: Path,
  trustedRoots: z.looseObject({ test: z.looseObject({ path: Path }) }),
  images: z.looseObject({ signed: Image, unsigned: Image, ...Object.fromEntries(KIT_IMAGES.map((name) => [name, Image])) as Record<KitImageName, typeof Image> }),
  keys: z.looseObject({ cosign: z.looseObject({ publicKey: Path }) }),
});

/** Reads the kit in `directory` (default: the one shipped with this installation); QUALIFICATION_KIT_INVALID if it is missing or damaged. */
export async function loadKit(directory: string = DEFAULT_KIT_DIRECTORY): Promise<QualificationKit> {
  const file = join(directory, 'fixtures.json');
  const fail = (reason: string, cause?: unknown): SigverifyError =>
    new SigverifyError('QUALIFICATION_KIT_INVALID', `the qualification kit ${file} is missing or damaged: ${reason}`, cause === undefined ? {} : { cause });
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileCapped(file, DEFAULT_LIMITS.maxConfigFileBytes);
  } catch (cause) {
    throw fail((cause as Error).message, cause);
  }
  if (bytes === undefined) throw fail(`larger than ${DEFAULT_LIMITS.maxConfigFileBytes} bytes`);
  const index = parseJson(FixturesIndex, bytes, fail);
  const inside = (path: string): string => {
    const full = resolve(directory, path);
    const rel = relative(directory, full);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw fail(`${path} is outside the kit`);
    return full;
  };
  const { signed, unsigned } = index.images;
  const policy = signed.expectations.find((e) => e.trustedRoot === 'test' && e.outcome === 'verified' && e.policy.kind === 'keyless')?.policy;
  if (policy?.identity === undefined || policy.issuer === undefined) throw fail('images.signed has no keyless policy that verifies it under the test trusted root');
  return {
    directory,
    layout: inside(index.layout),
    trustedRoot: inside(index.trustedRoots.test.path),
    expiredTuf: { repository: join(directory, 'qualify', 'tuf-expired'), root: join(directory, 'qualify', 'tuf-expired-root.json') },
    signed: { tag: signed.tag, digest: signed.digest, identity: policy.identity.value, issuer: policy.issuer },
    unsigned: { tag: unsigned.tag, digest: unsigned.digest },
    images: Object.fromEntries(KIT_IMAGES.map((name) => [name, { tag: index.images[name].tag, digest: index.images[name].digest }])) as Record<KitImageName, KitImage>,
    publicKey: inside(index.keys.cosign.publicKey),
  };
}
