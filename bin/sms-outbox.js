#!/usr/bin/env node
// `sms-outbox`, the command npm links into node_modules/.bin: the compiled CLI in dist/
// (`npm run build`, which `npm install` in this repository and `npm pack` run through the
// prepare script). Node resolves the symlink npm creates before it runs this file, so the
// import below stays inside this package whichever directory the command is run from.
const { runCli } = await import('../dist/cli/cli.js')
const outcome = await runCli(process.argv.slice(2))
// Set, not process.exit(): the process ends once its work is done, its output flushed.
if (outcome !== 'running') process.exitCode = outcome
