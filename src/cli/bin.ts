#!/usr/bin/env node
import { main } from './main.js'
import { processIO, EXIT_USAGE } from './io.js'

const io = processIO()
main(process.argv.slice(2), io).then(
  (code) => { process.exitCode = code },
  (err: unknown) => {
    io.stderr.write(`pod-preflight: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = EXIT_USAGE
  },
)
