export { type Descriptor, type ImageIndex, type ImageManifest, MEDIA_TYPE, type Manifest, parseManifest } from './manifest.ts';
export { type Platform, formatPlatform, parsePlatform, platformMatches, selectPlatform } from './platform.ts';
