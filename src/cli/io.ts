import { Readable } from 'node:stream'

/**
 * What a command may touch of the outside world. Commands take this instead of reaching for
 * `process` so that tests can run them in-process and read what they printed.
 */
export interface CliIO {
  stdout: { write(chunk: string): unknown; isTTY?: boolean }
  /** `fd` is set when this is the process's own standard error (2), which serve's logger then writes to directly. */
  stderr: { write(chunk: string): unknown; isTTY?: boolean; fd?: number }
  stdin: Readable
  env: Record<string, string | undefined>
  cwd: string
  /** How the user invoked us ('pod-preflight', or 'kubectl preflight' as a kubectl plugin); pod-preflight when absent. */
  prog?: string
}

export type Command = (args: string[], io: CliIO) => Promise<number>

/** Exit codes shared by every command. */
export const EXIT_OK = 0
export const EXIT_FINDINGS = 1
export const EXIT_USAGE = 2

/** A usage or input error whose message is shown to the user as is, without a stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export function processIO(prog?: string): CliIO {
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    // Made when first read: Node builds process.stdin's stream on first access, which a command that reads no `-` need not pay for.
    get stdin() {
      return process.stdin
    },
    env: process.env,
    cwd: process.cwd(),
  }
  if (prog !== undefined) io.prog = prog
  return io
}

/** A CliIO that records what was printed, for tests. */
export function memoryIO(
  stdinText = '',
  env: Record<string, string | undefined> = {},
  cwd = process.cwd(),
): CliIO & { out: () => string; err: () => string } {
  let out = ''
  let err = ''
  return {
    stdout: { write: (c: string) => { out += c; return true }, isTTY: false },
    stderr: { write: (c: string) => { err += c; return true }, isTTY: false },
    stdin: Readable.from([stdinText]),
    env,
    cwd,
    out: () => out,
    err: () => err,
  }
}
