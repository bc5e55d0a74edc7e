#!/usr/bin/env node
import { main } from './main.js'
import { processIO, EXIT_USAGE, type CliIO } from './io.js'
import { progFromInvocation } from './command.js'
import { interruptHandledByCommand } from './interrupt.js'

/** The status a shell gives a process ended by Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130

const io = processIO(progFromInvocation(process.argv[1], process.execPath))

// A reader that went away (`… | head -1`) is not an error: later output is dropped and the
// command ends with the status it would have had, without a stack trace.
const closed = new Set<NodeJS.WriteStream>()
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
    closed.add(stream)
  })
}
const guarded = (stream: NodeJS.WriteStream): CliIO['stdout'] => ({
  write: (chunk: string) => (closed.has(stream) ? true : stream.write(chunk)),
  isTTY: stream.isTTY,
})
io.stdout = guarded(process.stdout)
io.stderr = guarded(process.stderr)

// serve installs its own SIGINT handler for a graceful shutdown; every other command just ends.
process.on('SIGINT', () => {
  if (interruptHandledByCommand()) return
  process.stderr.write(`${io.prog ?? 'pod-preflight'}: interrupted\n`)
  process.exit(EXIT_INTERRUPTED)
})

main(process.argv.slice(2), io).then(
  (code) => { process.exitCode = code },
  (err: unknown) => {
    io.stderr.write(`${io.prog ?? 'pod-preflight'}: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = EXIT_USAGE
  },
)
