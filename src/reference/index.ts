export { type Digest, digestHex, isDigest, sha256Digest } from './digest.ts';
export {
  DOCKER_HUB,
  DOCKER_HUB_ALIASES,
  TAG_PATTERN,
  type ImageReference,
  type LayoutReference,
  type RegistryReference,
  formatReference,
  parseReference,
  parseRegistryReference,
  manifestReference,
  pinnedReference,
  repositoryName,
} from './reference.ts';
