#!/usr/bin/env node
import * as module from 'node:module';

// V8's on-disk compile cache (Node >= 22.1) skips re-parsing our modules and
// dependencies on every run: most of a cold start is module loading.
module.enableCompileCache();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
