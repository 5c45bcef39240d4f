export { CACHE_ENTRY_MEDIA_TYPE, type CacheKey, type CachedVerification, DEFAULT_CACHE_TTL_MS, ResultCache, type ResultCacheOptions } from './result-cache.ts';
