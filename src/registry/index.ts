export { type Challenge, parseWwwAuthenticate, selectChallenge } from './auth.ts';
export { type RegistryClientOptions, RegistryClient } from './client.ts';
export { type ConnectionOptions, ContentStores, type ContentStoresOptions, type StoreFactory, storesFor } from './stores.ts';
export {
  type CredentialSource,
  type Credentials,
  IDENTITY_TOKEN_USERNAME,
  staticCredentials,
} from './credentials.ts';
export { type DockerConfigOptions, dockerConfigCredentials, dockerConfigPath } from './docker-config.ts';
export { MANIFEST_ACCEPT, MEDIA_TYPES, mediaTypeOf } from './media-types.ts';
export type { ContentStore, FetchedManifest, ReferrersListing } from './types.ts';
