#!/usr/bin/env node
// `sms-outbox`, the command npm links into node_modules/.bin. The sources are TypeScript,
// run through tsx as `npm start` runs them. Node resolves the symlink npm creates before
// it runs this file, so import.meta.url names the real file and the paths below stay
// inside this package whichever directory the command is run from.
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

// This package's tsconfig, not whatever tsconfig.json the current directory holds.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) })
const { runCli } = await import('../src/cli/cli.ts')
const outcome = await runCli(process.argv.slice(2))
// Set, not process.exit(): the process ends once its work is done, its output flushed.
if (outcome !== 'running') process.exitCode = outcome
