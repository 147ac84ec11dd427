#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (built by `npm ci` / `npm run build`). During development
// the sources run directly with `node --import tsx src/cli.ts`.
try {
  await import('../dist/cli.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    process.stderr.write('vmbot is not built: run `npm run build` (npm ci does it when TypeScript is installed).\n');
    process.exit(1);
  }
  throw err;
}
