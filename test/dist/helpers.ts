/**
 * Running an installed pod-preflight (the npm package or the single executable) as a user
 * would: from a directory of their own, without this repository's node_modules, and the
 * webhook served over real TLS with a certificate made by certs/generate.sh.
 */
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { request } from 'node:https'
import { join, resolve } from 'node:path'

export const root = resolve(import.meta.dirname, '../..')
export const STACK = /^\s+at .+:\d+:\d+\)?$/m

export interface Ended {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * The environment of a user's shell: no NODE_OPTIONS (the test runner's hooks), NODE_PATH or
 * npm_* variables that could lend the program this repository's modules, no kubeconfig.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k === 'NODE_PATH' || k.startsWith('npm_') || k.startsWith('TAP')) continue
    env[k] = v
  }
  return { ...env, NO_COLOR: '1', HOME: '/nonexistent', KUBECONFIG: '', ...extra }
}

/** Runs file with args to its end, killed past the deadline (then status is null). */
export function run(file: string, args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; deadlineMs?: number }): Promise<Ended> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? userEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.deadlineMs ?? 120_000)
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', (err) => {
      clearTimeout(timer)
      fail(err)
    })
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      done({ status, signal, stdout, stderr })
    })
  })
}

/**
 * A user's working directory: the examples a new user would try, a failed pod to explain, and
 * a development CA with a serving certificate for 127.0.0.1.
 */
export async function userDir(dir: string): Promise<{ dir: string; examples: string; failedPod: string; certs: string }> {
  const examples = join(dir, 'examples')
  mkdirSync(examples, { recursive: true })
  for (const f of ['broken-pod.yaml', 'web-deployment.yaml', 'admission-review.json']) copyFileSync(join(root, 'examples', f), join(examples, f))
  const failedPod = join(dir, 'failed-pod.yaml')
  copyFileSync(join(root, 'test/fixtures/analyzer/pods/crashloop-exit0-busybox.yaml'), failedPod)
  const certs = join(dir, 'certs')
  const gen = await run('bash', [join(root, 'certs/generate.sh'), '--out', certs, '--dev'], { cwd: dir, env: process.env })
  if (gen.status !== 0) throw new Error(`certs/generate.sh failed: ${gen.stderr}`)
  return { dir, examples, failedPod, certs }
}

export interface Served {
  /** The port from the 'listening' log line, or undefined when it never listened. */
  port: number | undefined
  /** The answer to examples/admission-review.json POSTed to /validate. */
  review: { status: number; text: string } | undefined
  healthz: number | undefined
  ended: Ended
}

function get(port: number, path: string, ca: Buffer, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca, agent: false, servername: 'localhost', headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      },
    )
    req.on('error', fail)
    req.end(body)
  })
}

/**
 * Starts `file serve` on a free port (port 0: the port is read from the 'listening' log line),
 * asks /healthz, POSTs the example review to /validate, then stops it with SIGTERM (`serveArgs`
 * are given after serve's own; `ready` finds the port in the line that says it is served). Killed past
 * the deadline, so a server that never listens cannot hang the test.
 */
export function serveOnce(file: string, args: readonly string[], u: { dir: string; examples: string; certs: string }, env: NodeJS.ProcessEnv = userEnv(), serveArgs: readonly string[] = [], ready = /"port":(\d+),[^\n]*"msg":"listening"/): Promise<Served> {
  return new Promise((done, fail) => {
    const child = spawn(
      file,
      [...args, 'serve', '--host', '127.0.0.1', '--port', '0', '--tls-cert', join(u.certs, 'tls.crt'), '--tls-key', join(u.certs, 'tls.key'), '--shutdown-delay', '0s', ...serveArgs],
      { cwd: u.dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    const served: Omit<Served, 'ended'> = { port: undefined, review: undefined, healthz: undefined }
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    let asked = false
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      const m = ready.exec(stderr)
      if (m === null || asked) return
      asked = true
      const port = Number(m[1])
      served.port = port
      const ca = readFileSync(join(u.certs, 'ca.crt'))
      const review = readFileSync(join(u.examples, 'admission-review.json'), 'utf8')
      get(port, '/healthz', ca)
        .then((h) => {
          served.healthz = h.status
          return get(port, '/validate', ca, review)
        })
        .then((r) => { served.review = r })
        .catch((err: unknown) => { stderr += `\n[test] request failed: ${String(err)}\n` })
        .finally(() => child.kill('SIGTERM'))
    })
    child.on('error', (err) => {
      clearTimeout(timer)
      fail(err)
    })
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      done({ ...served, ended: { status, signal, stdout, stderr } })
    })
  })
}
