/** TUF repositories for tests: a private one signed with test keys, and the real public-good one. Test-only. */
export * from './public-good.ts';
export * from './repository.ts';
