/**
 * The two servers the webhook benchmarks compare, started as separate processes: pod-preflight
 * as the image starts it (node dist/cli/bin.js serve) and the minimal Fastify HTTPS server of
 * bench/webhook-minimal.ts; with the dev certificate, a free port each, and the server
 * process's own CPU time read from /proc (user + system), so a load generator's cost never
 * counts as the server's.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { Agent, request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Target } from './webhook-load.js'

export const ROOT = new URL('../', import.meta.url).pathname

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

export interface Server {
  name: string
  proc: ChildProcess
  target: Target
  logPath: string
}

const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130))

async function get(port: number, ca: Buffer, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', () => resolve({ status: 0, body: '' }))
    req.end()
  })
}

export async function startServer(name: string, args: string[], port: number, ca: Buffer, dir: string): Promise<Server> {
  const logPath = join(dir, `${name}.log`)
  const log = await open(logPath, 'w')
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', log.fd, log.fd] })
  await log.close()
  children.add(proc)
  proc.once('exit', () => children.delete(proc))
  const target: Target = { host: '127.0.0.1', port, ca, path: '/validate' }
  const deadline = Date.now() + 60_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited: ${await readFile(logPath, 'utf8')}`)
    if ((await get(port, ca, '/readyz')).status === 200) break
    if (Date.now() > deadline) throw new Error(`${name} not ready: ${await readFile(logPath, 'utf8')}`)
    await sleep(200)
  }
  return { name, proc, target, logPath }
}

/** GET a path of a server (its /metrics, say) over its TLS port. */
export async function getText(server: Server, path: string): Promise<string> {
  return (await get(server.target.port, server.target.ca, path)).body
}

/** pod-preflight's evaluation cache lookups so far, from its /metrics. */
export async function cacheLookups(server: Server): Promise<{ hit: number; miss: number }> {
  const text = await getText(server, '/metrics')
  const read = (result: string): number => Number(new RegExp(`^pod_preflight_admission_cache_lookups\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
  return { hit: read('hit'), miss: read('miss') }
}

/**
 * User and system CPU seconds from a /proc stat file (a process's or one of its threads'):
 * fields 14 and 15, counted after the command name, which may itself hold spaces.
 */
function statSeconds(path: string): { user: number; system: number } {
  const stat = readFileSync(path, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN
  try {
    const { user, system } = statSeconds(`/proc/${pid}/stat`)
    return user + system
  } catch {
    return NaN
  }
}

/** CPU seconds of a process split: its main thread's user and system time, and every other thread's (V8's helpers, libuv's pool). */
export interface ThreadCpu {
  mainUser: number
  mainSystem: number
  otherThreads: number
}

/**
 * Calls `read` with the /proc directory of each thread of a process and whether it is the main
 * thread; false when the process's threads cannot be listed. A thread that ends between the
 * listing and its read (`read` throws) is left out.
 */
function eachThread(pid: number | undefined, read: (dir: string, main: boolean) => void): boolean {
  let tasks: string[]
  try {
    if (pid === undefined) return false
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return false
  }
  for (const t of tasks) {
    try {
      read(`/proc/${pid}/task/${t}`, t === String(pid))
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return true
}

/** A process's CPU time by thread, from /proc/PID/task (threads that ended before the read are not in it). */
export function threadCpu(pid: number | undefined): ThreadCpu {
  const out: ThreadCpu = { mainUser: NaN, mainSystem: NaN, otherThreads: 0 }
  const listed = eachThread(pid, (dir, main) => {
    const { user, system } = statSeconds(`${dir}/stat`)
    if (main) {
      out.mainUser = user
      out.mainSystem = system
    } else out.otherThreads += user + system
  })
  if (!listed) out.otherThreads = NaN
  return out
}

/** Context switches (voluntary and not) of a process's main thread and of its other threads, from /proc/PID/task. */
export function contextSwitches(pid: number | undefined): { main: number; other: number } {
  const out = { main: 0, other: 0 }
  eachThread(pid, (dir, main) => {
    const status = readFileSync(`${dir}/status`, 'utf8')
    const n = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0)
    if (main) out.main += n
    else out.other += n
  })
  return out
}

/**
 * The node arguments that start one of the two servers on `port` with the certificate pair:
 * pod-preflight serve as the image runs it (`bin`, by default dist/cli/bin.js, with `serveArgs`
 * added) or the minimal Fastify server.
 */
export function serverArgs(server: 'pod-preflight' | 'minimal', port: number, cert: string, key: string, serveArgs: readonly string[] = [], bin = join(ROOT, 'dist/cli/bin.js')): string[] {
  return server === 'minimal'
    ? ['--import=tsx', join(ROOT, 'bench/webhook-minimal.ts'), String(port), cert, key]
    : [bin, 'serve', '--host=127.0.0.1', `--port=${port}`, `--tls-cert=${cert}`, `--tls-key=${key}`, '--log-level=info', ...serveArgs]
}

/**
 * One TLS keep-alive connection to a server on 127.0.0.1:`port`, for requests sent one after the
 * other: `send` GETs `path` without a body and POSTs the body as JSON otherwise.
 */
export function keepAliveClient(port: number, ca: Buffer): { send(body: string | undefined, path: string): Promise<{ status: number; text: string }>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca, servername: 'localhost' })
  return {
    send: (body, path) =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (text += c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
        })
        req.on('error', reject)
        req.end(body)
      }),
    close: () => agent.destroy(),
  }
}

export interface Pair {
  dir: string
  cert: string
  key: string
  preflight: Server
  minimal: Server
  /** With `skipOwned`: pod-preflight again, under the default policy with `ownedObjects: skip`. */
  skipOwned?: Server
  stop(): Promise<void>
}

/** The shipped default policy with `ownedObjects: skip`, as a file in `dir`. */
export async function skipOwnedPolicy(dir: string): Promise<string> {
  const text = await readFile(join(ROOT, 'policies/default.yaml'), 'utf8')
  const changed = text.replace(/^ownedObjects: judge$/m, 'ownedObjects: skip')
  if (changed === text) throw new Error('policies/default.yaml has no line "ownedObjects: judge" to change')
  const path = join(dir, 'skip-owned.yaml')
  await writeFile(path, changed)
  return path
}

/** The development certificate (certs/generate.sh --dev) made in `dir`: its CA's text and the paths of the server's pair. */
export async function devCertificate(dir: string): Promise<{ ca: Buffer; cert: string; key: string }> {
  execFileSync('bash', [join(ROOT, 'certs/generate.sh'), '--dev', '--out', dir], { stdio: ['ignore', 'ignore', 'ignore'] })
  return { ca: await readFile(join(dir, 'ca.crt')), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }
}

/**
 * Both servers on the same certificate; `serveArgs` are added to pod-preflight serve's. With
 * `skipOwned`, a third: pod-preflight under `ownedObjects: skip` (the same flags otherwise).
 */
export async function startPair(serveArgs: string[] = [], o: { skipOwned?: boolean } = {}): Promise<Pair> {
  const bin = join(ROOT, 'dist/cli/bin.js')
  if (!existsSync(bin)) throw new Error('dist/cli/bin.js is missing: run npm run build first')
  const dir = await mkdtemp(join(tmpdir(), 'pod-preflight-bench-'))
  const { ca, cert, key } = await devCertificate(dir)
  const [p1, p2] = [await freePort(), await freePort()]
  const preflight = await startServer('pod-preflight', serverArgs('pod-preflight', p1, cert, key, serveArgs, bin), p1, ca, dir)
  const minimal = await startServer('minimal', serverArgs('minimal', p2, cert, key), p2, ca, dir)
  let skipOwned: Server | undefined
  if (o.skipOwned === true) {
    const p3 = await freePort()
    const args = serverArgs('pod-preflight', p3, cert, key, [`--policy=${await skipOwnedPolicy(dir)}`, ...serveArgs], bin)
    skipOwned = await startServer('pod-preflight-skip-owned', args, p3, ca, dir)
  }
  return {
    dir,
    cert,
    key,
    preflight,
    minimal,
    ...(skipOwned === undefined ? {} : { skipOwned }),
    async stop() {
      for (const c of children) c.kill('SIGTERM')
      await sleep(300)
      for (const c of children) c.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** The path of a command on PATH, or undefined. */
export function findCommand(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}

export const fmt = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')
