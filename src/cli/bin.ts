#!/usr/bin/env node
import { errorText, main } from './main.js'
import { processIO, EXIT_USAGE, type CliIO } from './io.js'
import { progFromInvocation, writeErrorText } from './command.js'
import { interruptHandledByCommand } from './interrupt.js'
import { resolve } from 'node:path'

/** The status a shell gives a process ended by Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130

const io = processIO(progFromInvocation(process.argv[1], process.execPath))

// A reader that went away (`… | head -1`) is not an error: later output is dropped and the
// command ends with the status it would have had, without a stack trace. Any other failure to
// write standard output (a full disk: ENOSPC, /dev/full) is said once, naming the destination,
// and the command ends with status 2; its later output is dropped too. A failing stderr has no
// one left to tell: its output is dropped.
const closed = new Set<NodeJS.WriteStream>()
let writeFailed = false
const prog = io.prog ?? 'pod-preflight'
for (const [stream, name] of [[process.stdout, 'standard output'], [process.stderr, 'standard error']] as const) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (closed.has(stream)) return
    closed.add(stream)
    if (err.code === 'EPIPE' || stream === process.stderr) return
    writeFailed = true
    process.exitCode = EXIT_USAGE
    if (!closed.has(process.stderr)) process.stderr.write(`${prog}: cannot write to ${name}: ${writeErrorText(err)}\n`)
  })
}
const guarded = (stream: NodeJS.WriteStream): CliIO['stderr'] => ({
  write: (chunk: string) => (closed.has(stream) || stream.destroyed ? true : stream.write(chunk)),
  isTTY: stream.isTTY,
  fd: stream === process.stderr ? 2 : 1,
})
io.stdout = guarded(process.stdout)
io.stderr = guarded(process.stderr)

// serve installs its own SIGINT handler for a graceful shutdown; every other command just ends.
process.on('SIGINT', () => {
  if (interruptHandledByCommand()) return
  io.stderr.write(`${prog}: interrupted\n`)
  process.exit(EXIT_INTERRUPTED)
})

// A `serve --workers` worker of the single executable: node:cluster starts it as
// `EXECUTABLE SCRIPT ARGS...` with the script being the executable itself, which the single
// executable then sees as its first argument. Only such a process (started with an IPC channel,
// its first argument naming the executable itself) drops it.
const args = process.argv.slice(2)
if (process.channel !== undefined && args[0] !== undefined && resolve(args[0]) === process.execPath) args.shift()

main(args, io).then(
  (code) => { process.exitCode = writeFailed ? EXIT_USAGE : code },
  (err: unknown) => {
    io.stderr.write(`${prog}: ${errorText(err instanceof Error ? err.message : String(err))}\n`)
    process.exitCode = EXIT_USAGE
  },
)
