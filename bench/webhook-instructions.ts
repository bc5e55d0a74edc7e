/**
 * The webhook's instructions per review, counted by valgrind: a figure the machine's load does
 * not move, beside the CPU time of `bench:webhook:cpu`, which moves by half between runs on a
 * shared VM.
 *
 *   npm run build && npm run bench:webhook:instructions
 *
 * Each server (pod-preflight serve as the image runs it, and the minimal Fastify HTTPS server of
 * bench/webhook-minimal.ts) runs under valgrind's cachegrind (no cache simulation: instructions
 * only) twice, answering `BENCH_WARM` and then `BENCH_REVIEWS` reviews of one class, sent one
 * after the other over one TLS keep-alive connection by this process (not counted). The
 * difference of the two runs' totals, divided by the difference of their review counts, is the
 * instructions of one review once warm: start-up, module loading and the JIT's first
 * compilations are in both runs and cancel out. Every thread of the server is counted (V8's
 * helper threads and libuv's included); the kernel is not.
 *
 * What valgrind counts is not time: it runs the code on a virtual CPU without the SHA
 * extensions (so the evaluation cache key's SHA-256 takes OpenSSL's AVX2 path, about four times
 * the instructions of SHA-NI on this machine's CPUs), and an instruction that misses the caches
 * costs no more than one that hits. The ratio of instructions is therefore the work each server
 * asks of the CPU, and the ratio of CPU time (bench:webhook:cpu) that work plus how well the CPU
 * runs it.
 *
 * Needs Debian's valgrind; exits 2 without it. Environment:
 * BENCH_WARM (default 6000), BENCH_REVIEWS (default 16000), BENCH_CLASSES (comma-separated
 * substrings of the class names below, default all), BENCH_PARALLEL (runs at once, default 2),
 * BENCH_JSON=1, BENCH_FUNCTIONS (the N functions with the most instructions beyond the minimal
 * server's, per class; default 0).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchReview as pick, REVISION_PLACEHOLDER } from './webhook-reviews.js'
import { devCertificate, findCommand, fmt, freePort, keepAliveClient, ROOT, serverArgs, skipOwnedPolicy, sleep } from './webhook-servers.js'

const WARM = Number(process.env['BENCH_WARM'] ?? 6000)
const REVIEWS = Number(process.env['BENCH_REVIEWS'] ?? 16000)
const PARALLEL = Math.max(1, Number(process.env['BENCH_PARALLEL'] ?? 2))
const ONLY = (process.env['BENCH_CLASSES'] ?? '').split(',').filter((s) => s !== '')
const JSON_ONLY = process.env['BENCH_JSON'] === '1'
const FUNCTIONS = Math.max(0, Number(process.env['BENCH_FUNCTIONS'] ?? 0))
const say = (s: string): void => {
  if (!JSON_ONLY) process.stderr.write(`${s}\n`)
}

interface ReviewClass {
  name: string
  body: Buffer
  /** A new object in every review (the placeholder rewritten), or the same one again. */
  unique: boolean
  /** pod-preflight serve's extra flags for this class. */
  serveArgs?: (dir: string) => Promise<string[]>
  target?: number
}

const CLASSES: ReviewClass[] = [
  { name: 'new Deployment', body: pick('Deployment CREATE (good)'), unique: true, target: 2 },
  { name: 'new ReplicaSet-owned Pod', body: pick('Pod CREATE (ReplicaSet-owned)'), unique: true, target: 1.3 },
  {
    name: 'new ReplicaSet-owned Pod, `ownedObjects: skip`',
    body: pick('Pod CREATE (ReplicaSet-owned)'),
    unique: true,
    serveArgs: async (dir) => [`--policy=${await skipOwnedPolicy(dir)}`],
    target: 1.3,
  },
  { name: 'the same Pod again (cache hit)', body: pick('Pod CREATE (ReplicaSet-owned)'), unique: false },
]

/** Instructions counted per function ("file:function", as cg_annotate names it). */
type Counts = Map<string, number>

/** One server process under cachegrind answering `reviews` reviews: its instruction counts. */
async function countRun(server: 'pod-preflight' | 'minimal', c: ReviewClass, reviews: number): Promise<Counts> {
  const dir = await mkdtemp(join(tmpdir(), 'pod-preflight-instructions-'))
  try {
    const { cert, key, ca } = await devCertificate(dir)
    const port = await freePort()
    const args = serverArgs(server, port, cert, key, server === 'minimal' ? [] : ((await c.serveArgs?.(dir)) ?? []))
    const out = join(dir, 'cachegrind.out')
    const proc = spawn('valgrind', ['--tool=cachegrind', '--cache-sim=no', `--cachegrind-out-file=${out}`, process.execPath, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)))
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    const client = keepAliveClient(port, ca)
    const send = client.send
    try {
      // Start-up under valgrind takes tens of seconds.
      for (let i = 0; ; i++) {
        if (proc.exitCode !== null) throw new Error(`${server} exited before it was ready: ${stderr}`)
        const ready = await send(undefined, '/readyz').catch(() => undefined)
        if (ready?.status === 200) break
        if (i > 600) throw new Error(`${server} not ready after 5 minutes: ${stderr}`)
        await sleep(500)
      }
      const template = c.body.toString('utf8')
      const parts = template.split(REVISION_PLACEHOLDER)
      if (c.unique && parts.length < 2) throw new Error(`the ${c.name} review has no ${REVISION_PLACEHOLDER} to make it new`)
      for (let i = 0; i < reviews; i++) {
        // The same length as the placeholder, so that every body is the same size.
        const body = c.unique ? parts.join(`rev-${String(1e9 + i)}`) : template
        const r = await send(body, '/validate')
        if (r.status !== 200 || !r.text.includes('"uid"')) throw new Error(`${server} answered ${r.status}: ${r.text.slice(0, 200)}`)
      }
    } finally {
      client.close()
      proc.kill('SIGTERM')
      await exited
    }
    return parseCachegrind(await readFile(out, 'utf8'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Instructions per function from a cachegrind output file (its `fl=`, `fn=` and count lines). */
export function parseCachegrind(text: string): Counts {
  const counts: Counts = new Map()
  let file = '???'
  let fn = '???'
  for (const line of text.split('\n')) {
    if (line.startsWith('fl=')) file = line.slice(3)
    else if (line.startsWith('fn=')) fn = line.slice(3)
    else if (/^\d/.test(line)) {
      const n = Number(line.slice(line.indexOf(' ') + 1))
      if (Number.isFinite(n)) {
        const k = `${file}:${fn}`
        counts.set(k, (counts.get(k) ?? 0) + n)
      }
    }
  }
  return counts
}

/** What a function's instructions are spent on, by its name. */
export function category(key: string): string {
  if (/compiler::|Compiler|Turbofan|Maglev|Sparkplug|Baseline/.test(key)) return 'compiling JavaScript (JIT)'
  if (/JsonParser/.test(key)) return 'JSON.parse'
  if (/JsonStringifier/.test(key)) return 'JSON.stringify'
  if (/sha256/.test(key)) return 'SHA-256'
  if (/aesni|gcm|ghash|poly1305|chacha/i.test(key)) return 'TLS encryption'
  if (/Scaveng|Marking|Sweep|Evacuat|heap::|Heap::|MemoryChunk|GCTracer|PretenuringHandler/.test(key)) return 'garbage collection'
  if (key === '???:???') return 'JavaScript (JIT code)'
  if (/Builtins_.*(IC|Megamorphic)/.test(key)) return 'property access (inline caches)'
  if (/Builtins_/.test(key)) return 'V8 builtins (strings, arrays, maps, regexps...)'
  if (/mem(cpy|move|set|cmp)|malloc|free\b|_int_free|_int_malloc/.test(key)) return 'memory copies and malloc'
  if (/v8::|Runtime_|Builtin_/.test(key)) return 'V8 runtime (property lookups, strings, objects)'
  if (/ssl|SSL|EVP|BIO|crypto/.test(key)) return 'TLS (other)'
  if (/uv_|uv__|epoll|libuv/.test(key)) return 'libuv'
  return 'other (Node, OpenSSL, libc)'
}

/** Per review: the difference of two runs' counts divided by the difference of their reviews. */
function perReview(warm: Counts, long: Counts, reviews: number): Counts {
  const out: Counts = new Map()
  for (const k of new Set([...warm.keys(), ...long.keys()])) out.set(k, ((long.get(k) ?? 0) - (warm.get(k) ?? 0)) / reviews)
  return out
}

const total = (c: Counts): number => [...c.values()].reduce((a, b) => a + b, 0)

function byCategory(c: Counts): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of c) {
    const name = category(k)
    out.set(name, (out.get(name) ?? 0) + v)
  }
  return out
}

/** Runs `jobs` at most PARALLEL at a time (valgrind runs one thread at a time: one core each). */
async function pool<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++
        results[i] = await (jobs[i] as () => Promise<T>)()
      }
    }),
  )
  return results
}

interface ClassResult {
  class: string
  preflight: number
  minimal: number
  ratio: number
  target: number | null
  categories: { category: string; preflight: number; minimal: number }[]
  functions: { name: string; preflight: number; minimal: number }[]
}

const thousands = (n: number): string => `${fmt(n / 1000, 0)}k`

async function main(): Promise<void> {
  if (findCommand('valgrind') === undefined) {
    process.stderr.write('bench:webhook:instructions needs valgrind (Debian: apt-get install valgrind)\n')
    process.exit(2)
  }
  if (!(REVIEWS > WARM && WARM > 0)) throw new Error('BENCH_REVIEWS must be larger than BENCH_WARM, and both positive')
  const classes = ONLY.length === 0 ? CLASSES : CLASSES.filter((c) => ONLY.some((o) => c.name.includes(o)))
  say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; ${WARM} and ${REVIEWS} reviews a run, ${PARALLEL} runs at once`)
  const results: ClassResult[] = []
  for (const c of classes) {
    const started = Date.now()
    const [pw, pl, mw, ml] = await pool([
      () => countRun('pod-preflight', c, WARM),
      () => countRun('pod-preflight', c, REVIEWS),
      () => countRun('minimal', c, WARM),
      () => countRun('minimal', c, REVIEWS),
    ] as (() => Promise<Counts>)[])
    const p = perReview(pw as Counts, pl as Counts, REVIEWS - WARM)
    const m = perReview(mw as Counts, ml as Counts, REVIEWS - WARM)
    const pc = byCategory(p)
    const mc = byCategory(m)
    const categories = [...new Set([...pc.keys(), ...mc.keys()])]
      .map((category) => ({ category, preflight: pc.get(category) ?? 0, minimal: mc.get(category) ?? 0 }))
      .sort((a, b) => b.preflight - b.minimal - (a.preflight - a.minimal))
    const functions = [...p]
      .map(([name, n]) => ({ name, preflight: n, minimal: m.get(name) ?? 0 }))
      .sort((a, b) => b.preflight - b.minimal - (a.preflight - a.minimal))
      .slice(0, FUNCTIONS)
    const r: ClassResult = { class: c.name, preflight: total(p), minimal: total(m), ratio: total(p) / total(m), target: c.target ?? null, categories, functions }
    results.push(r)
    say(`${c.name}: pod-preflight ${thousands(r.preflight)} instructions a review, minimal ${thousands(r.minimal)}: ${fmt(r.ratio, 2)}× (${fmt((Date.now() - started) / 1000, 0)} s)`)
  }
  if (JSON_ONLY) {
    process.stdout.write(`${JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, warm: WARM, reviews: REVIEWS, results }, null, 2)}\n`)
    return
  }
  const lines = [
    '',
    `Instructions per review once warm (valgrind, reviews ${WARM + 1} to ${REVIEWS}):`,
    '',
    '| review | pod-preflight | minimal | ratio | target (on CPU time) |',
    '|---|---:|---:|---:|---|',
    ...results.map((r) => `| ${r.class} | ${thousands(r.preflight)} | ${thousands(r.minimal)} | **${fmt(r.ratio, 2)}×** | ${r.target === null ? '—' : `≤ ${String(r.target)}×`} |`),
  ]
  for (const r of results) {
    lines.push('', `Where the instructions of a review go, ${r.class} (most beyond the minimal server's first):`, '', '| spent on | pod-preflight | minimal | difference |', '|---|---:|---:|---:|')
    for (const c of r.categories) if (Math.abs(c.preflight) >= 1000 || Math.abs(c.minimal) >= 1000) lines.push(`| ${c.category} | ${thousands(c.preflight)} | ${thousands(c.minimal)} | ${thousands(c.preflight - c.minimal)} |`)
    if (r.functions.length > 0) {
      lines.push('', `The ${String(r.functions.length)} functions with the most instructions beyond the minimal server's, ${r.class}:`, '', '| function (file:name, as valgrind names it) | pod-preflight | minimal | difference |', '|---|---:|---:|---:|')
      for (const f of r.functions) lines.push(`| ${f.name.replaceAll('|', '\\|').slice(0, 160)} | ${fmt(f.preflight / 1000, 1)}k | ${fmt(f.minimal / 1000, 1)}k | ${fmt((f.preflight - f.minimal) / 1000, 1)}k |`)
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

await main()
