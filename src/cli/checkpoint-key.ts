import { type CheckpointSigner, type CheckpointVerifier, checkpointSigner, checkpointVerifier } from '../qualify/index.ts';
import { SigverifyError } from '../index.ts';
import { readOwnedFile } from '../io/local-files.ts';

/** A PEM key file is small; anything larger is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

async function readPem(path: string, role: string): Promise<string> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readOwnedFile(path, MAX_KEY_FILE_BYTES, role);
  } catch (cause) {
    if (cause instanceof SigverifyError) throw cause;
    throw new SigverifyError('KEY_INVALID', `cannot read ${role} ${path}: ${(cause as Error).message}`, { cause });
  }
  if (bytes === undefined) throw new SigverifyError('KEY_INVALID', `${role} ${path} is larger than ${MAX_KEY_FILE_BYTES} bytes`);
  return bytes.toString('utf8');
}

/** The site's checkpoint key (a private key the gate's host holds; an owned file, no symlink, not group- or world-writable). */
export async function readCheckpointSigner(path: string): Promise<CheckpointSigner> {
  return checkpointSigner(await readPem(path, 'audit checkpoint key'), `the audit checkpoint key ${path}`);
}

export async function readCheckpointVerifier(path: string): Promise<CheckpointVerifier> {
  return checkpointVerifier(await readPem(path, 'audit checkpoint public key'), `the audit checkpoint public key ${path}`);
}
