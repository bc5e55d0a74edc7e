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
import { request } from 'node:https'
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

/** A process's CPU time by thread, from /proc/PID/task (threads that ended before the read are not in it). */
export function threadCpu(pid: number | undefined): ThreadCpu {
  const out: ThreadCpu = { mainUser: NaN, mainSystem: NaN, otherThreads: NaN }
  let tasks: string[]
  try {
    if (pid === undefined) return out
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  out.otherThreads = 0
  for (const t of tasks) {
    try {
      const { user, system } = statSeconds(`/proc/${pid}/task/${t}/stat`)
      if (t === String(pid)) {
        out.mainUser = user
        out.mainSystem = system
      } else out.otherThreads += user + system
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out
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
  const preflight = await startServer(
    'pod-preflight',
    [bin, 'serve', '--host=127.0.0.1', `--port=${p1}`, `--tls-cert=${cert}`, `--tls-key=${key}`, '--log-level=info', ...serveArgs],
    p1,
    ca,
    dir,
  )
  const minimal = await startServer('minimal', ['--import=tsx', join(ROOT, 'bench/webhook-minimal.ts'), String(p2), cert, key], p2, ca, dir)
  let skipOwned: Server | undefined
  if (o.skipOwned === true) {
    const p3 = await freePort()
    const args = [bin, 'serve', '--host=127.0.0.1', `--port=${p3}`, `--tls-cert=${cert}`, `--tls-key=${key}`, '--log-level=info', `--policy=${await skipOwnedPolicy(dir)}`, ...serveArgs]
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
