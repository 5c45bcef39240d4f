#!/usr/bin/env node
import * as module from 'node:module';

// The version is checked before anything else is loaded: on an older Node the
// modules below fail with a stack trace that does not say why (Node 20 lacks
// module.enableCompileCache, for one). Keep this file free of other imports.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 22)) {
  process.stderr.write(`sigverify needs Node.js >= 22.22 (found ${process.versions.node})\n`);
  process.exitCode = 3;
} else {
  // V8's on-disk compile cache (Node >= 22.1) skips re-parsing our modules and
  // dependencies on every run: most of a cold start is module loading.
  module.enableCompileCache();
  const { main } = await import('./main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
