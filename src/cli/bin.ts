#!/usr/bin/env node
import { main } from './main.js'
import { processIO, EXIT_USAGE } from './io.js'
import { progFromInvocation } from './command.js'

const io = processIO(progFromInvocation(process.argv[1], process.execPath))
main(process.argv.slice(2), io).then(
  (code) => { process.exitCode = code },
  (err: unknown) => {
    io.stderr.write(`${io.prog ?? 'pod-preflight'}: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = EXIT_USAGE
  },
)
