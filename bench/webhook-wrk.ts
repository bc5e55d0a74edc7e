/**
 * The webhook's CPU per review, with the load from a C load generator (wrk), so the client's
 * cost never counts as the server's: `pod-preflight serve` and the minimal Fastify HTTPS server
 * (bench/webhook-minimal.ts) answer the same reviews over the same TLS with keep-alive, and each
 * server's CPU time (user + system, from /proc) is divided by the reviews it answered.
 *
 *   npm run build && npm run bench:webhook:cpu
 *
 * Classes of review: a new ReplicaSet-owned Pod and a new Deployment (every request a new
 * object: wrk's Lua script writes a sequence number into each body, so the evaluation cache
 * never hits), the new owned Pod again served by a third process whose policy says
 * `ownedObjects: skip` (answered without judging), and a rollout's next Pod: the owned Pod with
 * a new token volume name in each request and nothing else new (the cache hits). Targets:
 * Pod <= 1.3x and Deployment <= 2x the minimal server's CPU per review.
 *
 * wrk comes from Debian's package of that name; when it is missing this bench says so and exits
 * 2 (npm run bench:webhook keeps the Node load generator). Environment: BENCH_SECONDS (per
 * measurement, default 8), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 16),
 * BENCH_SERVE_ARGS (extra serve flags, e.g. to compare a setting), BENCH_JSON=1.
 */
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { benchReview as pick, GENERATED_NAME_ALPHABET, quietPodReview, REVISION_PLACEHOLDER, TOKEN_VOLUME_PLACEHOLDER } from './webhook-reviews.js'
import { cacheLookups, cpuSeconds, findCommand, fmt, median, startPair, threadCpu, type Pair, type Server } from './webhook-servers.js'
import { COST_REVIEWS, costTables, reviewCosts } from './webhook-rules.js'

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 16)
const SERVE_ARGS = (process.env['BENCH_SERVE_ARGS'] ?? '').split(' ').filter((a) => a !== '')
const JSON_ONLY = process.env['BENCH_JSON'] === '1'
const say = (s: string): void => {
  if (!JSON_ONLY) process.stderr.write(`${s}\n`)
}

export function findWrk(): string | undefined {
  return findCommand('wrk')
}

/**
 * wrk's script: POST the body; with `unique`, a new sequence number in place of every copy of
 * the placeholder per request. Every copy: a Deployment's first one sits in its
 * last-applied-configuration annotation, which the evaluation cache's key leaves out, so
 * rewriting only that one made every "new" Deployment a cache hit. With `rollout`, a new name for
 * the Pod's token volume per request (as each Pod of a rollout on Kubernetes 1.21+ has its own).
 */
export function luaScript(bodyPath: string, unique: boolean, rollout = false): string {
  return `
local f = assert(io.open(${JSON.stringify(bodyPath)}, "rb"))
local template = f:read("*a")
f:close()
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
local counter = 0
-- Each run starts its numbers where no earlier run went: a later round never repeats a body.
function init(args)
  counter = tonumber(args[1]) or 0
end
local id = 0
local threads = {}
function setup(thread)
  id = id + 1
  thread:set("tid", id)
  table.insert(threads, thread)
end
-- Formatted on first use: the Host header is known only once the thread runs.
local fixed = nil
-- The Pod's own token volume name (a rollout's Pods each have one): the counter and the thread
-- in 5 of the characters Kubernetes generates names from.
local alphabet = "${GENERATED_NAME_ALPHABET}"
local function token(body)
  local n = counter * 4 + ((tid or 0) % 4)
  local suffix = ""
  for _ = 1, 5 do
    local d = n % #alphabet
    suffix = suffix .. string.sub(alphabet, d + 1, d + 1)
    n = math.floor(n / #alphabet)
  end
  return (string.gsub(body, "${TOKEN_VOLUME_PLACEHOLDER.replace(/-/g, '%-')}", "kube-api-access-" .. suffix))
end
request = function()
  ${
    unique || rollout
      ? `counter = counter + 1
  local body = template${
    unique
      ? `
  body = string.gsub(body, "${REVISION_PLACEHOLDER.replace(/-/g, '%-')}", string.format("r%02d-%010d", tid or 0, counter))`
      : ''
  }${rollout ? '\n  body = token(body)' : ''}
  return wrk.format("POST", "/validate", headers, body)`
      : `if fixed == nil then fixed = wrk.format("POST", "/validate", headers, template) end
  return fixed`
  }
end
bad = 0
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"uid"', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local badTotal = 0
  for _, t in ipairs(threads) do badTotal = badTotal + (t:get("bad") or 0) end
  io.write(string.format("WRK_RESULT %d %d %d %d %d %.3f %.3f\\n", summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status, badTotal,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
`
}

export interface Run {
  requests: number
  seconds: number
  errors: number
  badAnswers: number
  cpuPerReviewUs: number
  /** The same CPU split, µs a review: the main thread's user and system time, and the other threads' (the server's own process only). */
  split: { mainUserUs: number; mainSystemUs: number; otherThreadsUs: number }
  rate: number
  p50: number
  p99: number
}

let wrkRuns = 0

/** One wrk run against a server; `cpu` reads the CPU seconds to charge (the server process's by default). */
export async function runWrk(wrk: string, server: Server, script: string, seconds: number, cpu: () => number = () => cpuSeconds(server.proc.pid)): Promise<Run> {
  const c0 = cpu()
  const t0 = threadCpu(server.proc.pid)
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(wrk, [`-t${Math.min(2, CONNECTIONS)}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '30s', '-s', script, `https://127.0.0.1:${server.target.port}/validate`, '--', String(++wrkRuns * 10_000_000)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    p.stdout.on('data', (c: Buffer) => (text += c.toString()))
    p.stderr.on('data', (c: Buffer) => (text += c.toString()))
    p.on('error', reject)
    p.on('close', () => resolve(text))
  })
  const c1 = cpu()
  const t1 = threadCpu(server.proc.pid)
  const m = /WRK_RESULT (\d+) (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)/.exec(out)
  if (m === null) throw new Error(`wrk gave no result:\n${out}`)
  const [requests, durationUs, errors, statusErrors, bad, p50, p99] = m.slice(1).map(Number) as [number, number, number, number, number, number, number]
  return {
    requests,
    seconds: durationUs / 1e6,
    errors: errors + statusErrors,
    badAnswers: bad,
    // /proc ticks are 10 ms, so runs are seconds long; a long --timeout keeps wrk from reconnecting
    // (a new TLS handshake) when the server is slow on a loaded machine.
    cpuPerReviewUs: ((c1 - c0) / requests) * 1e6,
    split: {
      mainUserUs: ((t1.mainUser - t0.mainUser) / requests) * 1e6,
      mainSystemUs: ((t1.mainSystem - t0.mainSystem) / requests) * 1e6,
      otherThreadsUs: ((t1.otherThreads - t0.otherThreads) / requests) * 1e6,
    },
    rate: requests / (durationUs / 1e6),
    p50,
    p99,
  }
}


export interface CpuResult {
  class: string
  preflightUs: number
  minimalUs: number
  ratio: number
  target: number | null
  met: boolean | null
  cacheHitRate: number
  preflightRate: number
  minimalRate: number
  /** Medians of the rounds, µs a review: where each server's CPU time went. */
  preflightSplit: Run['split']
  minimalSplit: Run['split']
  errors: number
}

function medianSplit(runs: Run[]): Run['split'] {
  return {
    mainUserUs: median(runs.map((r) => r.split.mainUserUs)),
    mainSystemUs: median(runs.map((r) => r.split.mainSystemUs)),
    otherThreadsUs: median(runs.map((r) => r.split.otherThreadsUs)),
  }
}

/**
 * CPU per review of both servers of `pair` for the four classes of review, wrk driving the
 * load, rounds interleaved; the Markdown table in `lines`.
 */
export async function cpuPerReview(pair: Pair, wrk: string, o: { seconds?: number; rounds?: number } = {}): Promise<{ results: CpuResult[]; lines: string[] }> {
  const seconds = o.seconds ?? SECONDS
  const rounds = o.rounds ?? ROUNDS
  const classes: { name: string; body: string | Buffer; unique: boolean; rollout?: boolean; target: number | undefined; server?: Server }[] = [
    { name: 'new ReplicaSet-owned Pod', body: pick('Pod CREATE (ReplicaSet-owned)'), unique: true, target: 1.3 },
    // The same Pods under `ownedObjects: skip`: allowed at once, not judged (what a
    // matchConditions would spare the API server's call for, with the call still made).
    ...(pair.skipOwned === undefined
      ? []
      : [{ name: 'new ReplicaSet-owned Pod, `ownedObjects: skip`', body: pick('Pod CREATE (ReplicaSet-owned)'), unique: true, target: 1.3, server: pair.skipOwned }]),
    { name: 'new Deployment', body: pick('Deployment CREATE (good)'), unique: true, target: 2 },
    // A rollout's next Pod: the same template, its own token volume (Kubernetes 1.21+).
    { name: "a rollout's next Pod (cache hit)", body: pick('Pod CREATE (ReplicaSet-owned)'), unique: false, rollout: true, target: undefined },
    // The new Pod with a pull secret: answered with a plain yes (no warning), so that
    // BENCH_SERVE_ARGS='--review-log warned' shows what not writing its log line saves.
    { name: 'a new quiet Pod (no warning)', body: quietPodReview(), unique: true, target: undefined },
  ]
  say(`CPU per review: wrk -t${Math.min(2, CONNECTIONS)} -c${CONNECTIONS}, ${seconds} s per run, ${rounds} rounds, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
  const results: CpuResult[] = []
  const scripts: string[] = []
  for (const [i, c] of classes.entries()) {
    const bodyPath = join(pair.dir, `body-${i}.json`)
    scripts.push(join(pair.dir, `script-${i}.lua`))
    await writeFile(bodyPath, c.body)
    await writeFile(scripts[i] as string, luaScript(bodyPath, c.unique, c.rollout === true))
  }
  // Both servers warmed on every class before any is measured, and on the new objects for long
  // enough to fill the verdict cache: measured cold, the first class paid for the JIT and the
  // cache's first thousand entries (a Pod run first cost up to three times what it did later).
  for (const [i, script] of scripts.entries()) for (const s of [classes[i]?.server ?? pair.preflight, pair.minimal]) await runWrk(wrk, s, script, 3)
  for (const [i, c] of classes.entries()) {
    const scriptPath = scripts[i] as string
    const runs: { preflight: Run; minimal: Run }[] = []
    const server = c.server ?? pair.preflight
    const cache0 = await cacheLookups(server)
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [server, pair.minimal] : [pair.minimal, server]
      const got: Record<string, Run> = {}
      for (const s of order) got[s.name] = await runWrk(wrk, s, scriptPath, seconds)
      const p = got[server.name] as Run
      const m = got['minimal'] as Run
      runs.push({ preflight: p, minimal: m })
      say(`${c.name} round ${r + 1}: pod-preflight ${fmt(p.cpuPerReviewUs)} µs CPU/review (${fmt(p.rate, 0)}/s), minimal ${fmt(m.cpuPerReviewUs)} µs (${fmt(m.rate, 0)}/s), errors ${p.errors + m.errors + p.badAnswers + m.badAnswers}`)
    }
    const ratio = median(runs.map((r) => r.preflight.cpuPerReviewUs / r.minimal.cpuPerReviewUs))
    // The classes of new objects must never hit the cache, the repeated one nearly always.
    const cache1 = await cacheLookups(server)
    const lookups = cache1.hit - cache0.hit + cache1.miss - cache0.miss
    results.push({
      class: c.name,
      preflightUs: median(runs.map((r) => r.preflight.cpuPerReviewUs)),
      minimalUs: median(runs.map((r) => r.minimal.cpuPerReviewUs)),
      ratio,
      target: c.target ?? null,
      met: c.target === undefined ? null : ratio <= c.target,
      cacheHitRate: lookups === 0 ? NaN : (cache1.hit - cache0.hit) / lookups,
      preflightRate: median(runs.map((r) => r.preflight.rate)),
      minimalRate: median(runs.map((r) => r.minimal.rate)),
      preflightSplit: medianSplit(runs.map((r) => r.preflight)),
      minimalSplit: medianSplit(runs.map((r) => r.minimal)),
      errors: runs.reduce((n, r) => n + r.preflight.errors + r.minimal.errors + r.preflight.badAnswers + r.minimal.badAnswers, 0),
    })
  }
  const lines = [
    '',
    `CPU per review of the server process (/proc), load from wrk, ${rounds} interleaved rounds of ${seconds} s:`,
    '',
    '| review | pod-preflight CPU/review | minimal CPU/review | ratio (median of rounds) | target | cache hits |',
    '|---|---:|---:|---:|---|---:|',
    ...results.map(
      (r) =>
        `| ${r.class} | ${fmt(r.preflightUs)} µs | ${fmt(r.minimalUs)} µs | **${fmt(r.ratio, 2)}×** | ${r.target === null ? '—' : `≤ ${String(r.target)}× ${r.met === true ? 'met' : 'NOT met'}`} | ${Number.isFinite(r.cacheHitRate) ? `${fmt(r.cacheHitRate * 100, 0)}%` : 'none asked'} |`,
    ),
    '',
    `errors or bad answers: ${results.reduce((n, r) => n + r.errors, 0)}; load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    '',
    'Where the CPU time went, µs a review (medians of the rounds): the main thread in user space and in the kernel, and the other threads (V8\'s compiler and garbage collector helpers, libuv\'s pool):',
    '',
    '| review | pod-preflight: main user / system / other threads | minimal: main user / system / other threads | main user ratio |',
    '|---|---|---|---:|',
    ...results.map(
      (r) =>
        `| ${r.class} | ${fmt(r.preflightSplit.mainUserUs)} / ${fmt(r.preflightSplit.mainSystemUs)} / ${fmt(r.preflightSplit.otherThreadsUs)} | ${fmt(r.minimalSplit.mainUserUs)} / ${fmt(r.minimalSplit.mainSystemUs)} / ${fmt(r.minimalSplit.otherThreadsUs)} | ${fmt(r.preflightSplit.mainUserUs / r.minimalSplit.mainUserUs, 2)}× |`,
    ),
  ]
  return { results, lines }
}

async function main(): Promise<void> {
  const wrk = findWrk()
  if (wrk === undefined) {
    process.stderr.write('bench:webhook:cpu needs wrk (Debian: apt-get install wrk); npm run bench:webhook measures with the Node load generator instead\n')
    process.exit(2)
  }
  say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}`)
  const pair = await startPair(SERVE_ARGS, { skipOwned: true })
  let cpu: { results: CpuResult[]; lines: string[] }
  try {
    cpu = await cpuPerReview(pair, wrk)
  } finally {
    await pair.stop()
  }
  // In this process, after the servers have stopped: where a review's CPU goes, rule by rule.
  const costs = await reviewCosts(COST_REVIEWS)
  if (JSON_ONLY) {
    process.stdout.write(`${JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, serveArgs: SERVE_ARGS, results: cpu.results, costs }, null, 2)}\n`)
    return
  }
  process.stdout.write(`${[...cpu.lines, ...costTables(costs), ''].join('\n')}\n`)
}

// Run as a script (npm run bench:webhook:cpu), not when another bench imports its helpers.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
