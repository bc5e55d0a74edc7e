/**
 * Running the tools that turn a kustomization or a Helm chart into manifests (`kubectl
 * kustomize`, `helm template`), bounded: a deadline, a cap on what is read from stdout and
 * stderr, and a failure reported as one short message with the tool's own words.
 */
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'
import { safeText } from '../text/sanitize.js'
import { childProcessModule } from '../lazy-modules.js'

/** The first executable file named `name` on PATH (from `env`, so tests can set it), or undefined. */
export function findOnPath(name: string, env: Record<string, string | undefined>): string | undefined {
  const dirs = (env['PATH'] ?? '').split(delimiter).filter((d) => d !== '' && isAbsolute(d))
  for (const dir of dirs.slice(0, 256)) {
    const candidate = join(dir, name)
    try {
      if (!statSync(candidate).isFile()) continue
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

export interface RenderLimits {
  /** The tool is killed after this long. */
  timeoutMs: number
  /** The most bytes of output read; more is an error, and the tool is killed. */
  maxBytes: number
}

/** How long a renderer may run, and the most of its stderr kept for the message. */
export const DEFAULT_RENDER_TIMEOUT_MS = 60_000
const MAX_STDERR_BYTES = 16 * 1024

export type RenderResult = { ok: true; text: string } | { ok: false; message: string }

/**
 * Runs `program args` (no shell) in `cwd` and returns its standard output as text. A non-zero
 * exit, a signal, a timeout or too much output is `{ ok: false }` with a message naming the
 * command and the end of what it wrote to stderr, escaped and shortened.
 */
export function runRenderer(program: string, args: readonly string[], display: string, options: { cwd: string; env: Record<string, string | undefined> } & RenderLimits): Promise<RenderResult> {
  return new Promise((resolvePromise) => {
    let settled = false
    const done = (r: RenderResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolvePromise(r)
    }
    const child = childProcessModule().spawn(program, [...args], { cwd: options.cwd, env: options.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let outBytes = 0
    let err = Buffer.alloc(0)
    let failure: string | undefined
    const timer = setTimeout(() => {
      failure = `${display} did not finish within ${options.timeoutMs >= 1000 ? `${Math.round(options.timeoutMs / 1000)} s` : `${options.timeoutMs} ms`} and was stopped`
      child.kill('SIGKILL')
    }, options.timeoutMs)
    child.stdout.on('data', (chunk: Buffer) => {
      if (failure !== undefined) return
      outBytes += chunk.length
      if (outBytes > options.maxBytes) {
        failure = `${display} printed more than ${(options.maxBytes / 1024 / 1024).toFixed(1)} MiB (--max-file-size) and was stopped`
        child.kill('SIGKILL')
        return
      }
      out.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      // Keep the end: tools print the cause last.
      err = Buffer.concat([err, chunk])
      if (err.length > MAX_STDERR_BYTES) err = err.subarray(err.length - MAX_STDERR_BYTES)
    })
    child.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, message: `cannot run ${display}: ${e.code ?? e.message}` }))
    child.on('close', (code, signal) => {
      if (failure !== undefined) return done({ ok: false, message: failure })
      if (code === 0) return done({ ok: true, text: Buffer.concat(out).toString('utf8') })
      const said = stderrSummary(err.toString('utf8'))
      const how = code !== null ? `exit status ${code}` : `signal ${signal ?? 'unknown'}`
      done({ ok: false, message: `${display} failed (${how})${said !== '' ? `: ${said}` : ''}` })
    })
  })
}

/** The last few non-empty lines of a tool's stderr, on one line, escaped and at most 600 characters. */
function stderrSummary(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')
  return safeText(lines.slice(-3).join(' | '), 600)
}
