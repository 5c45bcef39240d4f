/**
 * Minimal PEM decoding (RFC 7468): the first block of the given label, as DER.
 * Used to compare certificates and keys byte for byte, as cosign's
 * `comparePublicKey` does after decoding.
 */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n\t ]*?)-----END \1-----/g;

export function pemToDer(pem: string, label: string): Buffer<ArrayBuffer> | undefined {
  for (const match of pem.matchAll(PEM_BLOCK)) {
    if (match[1] === label) {
      const der = Buffer.from((match[2] ?? '').replace(/\s+/g, ''), 'base64');
      return der.length === 0 ? undefined : der;
    }
  }
  return undefined;
}

/** Every PEM block in the input, with its label. */
export function pemBlocks(pem: string): { label: string; der: Buffer }[] {
  return [...pem.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1] ?? '', der: Buffer.from((m[2] ?? '').replace(/\s+/g, ''), 'base64') }));
}
