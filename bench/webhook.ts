/**
 * Benchmark of POST /validate over HTTPS with keep-alive: `pod-preflight serve` (started as the
 * image starts it: node dist/cli/bin.js serve) against a minimal Fastify HTTPS server that
 * answers the same reviews with a fixed `allowed: true` (bench/webhook-minimal.ts). Both run in
 * the same run on the same machine, each in its own process, measured in alternating rounds.
 *
 *   npm run build && node --import=tsx bench/webhook.ts
 *
 * Environment: BENCH_SECONDS (per measurement, default 10), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 16), BENCH_SCENARIOS (default unique,repeat), BENCH_JSON=1.
 *
 * Two scenarios: "unique" gives every request its own object (a sequence number in an env
 * value), so the webhook's evaluation cache never hits: the cost of judging every review;
 * "repeat" cycles the same 8 reviews, as a rollout's Pods or repeated dry runs do: the cache
 * hits. For each: reviews per second at saturation (closed loop) for both servers and their
 * ratio; then latency percentiles at half of pod-preflight's maximum rate (open loop, latency
 * counted from when each request was due). Targets: ratio >= 0.8, p99 < 5 ms at half rate.
 *
 * Then, in the same run and with the same two servers, the CPU per review of each server
 * process with the load from wrk (bench/webhook-wrk.ts: a new ReplicaSet-owned Pod <= 1.3x and
 * a new Deployment <= 2x the minimal server's), when wrk is installed; and in this process, what
 * each step of a review and each rule costs (bench/webhook-rules.ts). The last lines give the
 * targets' figures together. BENCH_CPU_SECONDS (default 5) is the length of a wrk run.
 */
import { readFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { benchReviews, REVISION_PLACEHOLDER } from './webhook-reviews.js'
import { fixedRate, maxRate, type LoadResult } from './webhook-load.js'
import { cacheLookups, cpuSeconds, startPair, type Server } from './webhook-servers.js'
import { cpuPerReview, findWrk, type CpuResult } from './webhook-wrk.js'
import { COST_REVIEWS, costTables, reviewCosts } from './webhook-rules.js'

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 16)
const JSON_ONLY = process.env['BENCH_JSON'] === '1'
/** unique: every review carries a new object; repeat: the same few objects again and again. */
const SCENARIOS = (process.env['BENCH_SCENARIOS'] ?? 'unique,repeat').split(',').filter((s) => s === 'unique' || s === 'repeat')

const say = (s: string): void => {
  if (!JSON_ONLY) process.stderr.write(`${s}\n`)
}

interface Measured extends LoadResult {
  serverCpu: number
  /** Server CPU seconds per review answered (the Node generator shares the cores). */
  cpuPerReview: number
}

async function measure(server: Server, run: () => Promise<LoadResult>): Promise<Measured> {
  const c0 = cpuSeconds(server.proc.pid)
  const r = await run()
  const c1 = cpuSeconds(server.proc.pid)
  // Includes warmup and drain; a rough utilisation figure.
  return { ...r, serverCpu: (c1 - c0) / r.seconds, cpuPerReview: (c1 - c0) / Math.max(1, r.rate * r.seconds) }
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a'
}

async function main(): Promise<void> {
  const pair = await startPair([], { skipOwned: true })
  const { preflight, minimal } = pair
  try {
    const reviews = benchReviews()
    const bodies = reviews.map((r) => r.body)
    const sizes = bodies.map((b) => b.length)
    say(`reviews: ${reviews.length} (${Math.min(...sizes)}–${Math.max(...sizes)} bytes): ${[...new Set(reviews.map((r) => r.name))].join('; ')}`)
    say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)

    say('warming up both servers...')
    for (const s of [preflight, minimal]) await maxRate(s.target, bodies, { connections: CONNECTIONS, warmupMs: 1_000, durationMs: 3_000, unique: REVISION_PLACEHOLDER })

    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
    const scenarios: Record<string, unknown> = {}
    const lines: string[] = []
    let errors = 0
    for (const scenario of SCENARIOS) {
      const unique = scenario === 'unique' ? REVISION_PLACEHOLDER : undefined
      const load = { connections: CONNECTIONS, warmupMs: 1_000, durationMs: SECONDS * 1000, ...(unique === undefined ? {} : { unique }) }
      const cache0 = await cacheLookups(preflight)
      const rounds: { preflight: Measured; minimal: Measured }[] = []
      for (let i = 0; i < ROUNDS; i++) {
        const order = i % 2 === 0 ? [preflight, minimal] : [minimal, preflight]
        const got: Record<string, Measured> = {}
        for (const s of order) {
          const m = await measure(s, () => maxRate(s.target, bodies, load))
          got[s.name] = m
          say(`${scenario} round ${i + 1} ${s.name.padEnd(13)} ${fmt(m.rate, 0)} reviews/s, p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms, errors ${m.errors}`)
        }
        rounds.push({ preflight: got['pod-preflight'] as Measured, minimal: got['minimal'] as Measured })
      }
      const preflightMax = mean(rounds.map((r) => r.preflight.rate))
      const minimalMax = mean(rounds.map((r) => r.minimal.rate))
      const ratio = preflightMax / minimalMax
      const halfRate = Math.round(preflightMax / 2)
      say(`${scenario}: open loop at ${halfRate} reviews/s (half of pod-preflight's maximum)...`)
      const atHalf = await measure(preflight, () => fixedRate(preflight.target, bodies, { ...load, rate: halfRate, warmupMs: 2_000 }))
      const minimalAtHalf = await measure(minimal, () => fixedRate(minimal.target, bodies, { ...load, rate: halfRate, warmupMs: 2_000 }))
      const cache1 = await cacheLookups(preflight)
      const hits = cache1.hit - cache0.hit
      const hitRate = hits / Math.max(1, hits + cache1.miss - cache0.miss)
      errors += rounds.reduce((n, r) => n + r.preflight.errors + r.minimal.errors, 0) + atHalf.errors + minimalAtHalf.errors
      scenarios[scenario] = { max: { preflight: preflightMax, minimal: minimalMax, ratio, rounds }, halfRate: { rate: halfRate, preflight: atHalf, minimal: minimalAtHalf }, cacheHitRate: hitRate }
      lines.push(
        '',
        `${scenario === 'unique' ? 'Every review a new object (no evaluation cache hits)' : 'The same reviews again and again (evaluation cache hits)'}: cache hit rate ${fmt(hitRate * 100, 0)}%`,
        '',
        `| server | max reviews/s | at ${halfRate}/s: p50 | p90 | p99 | p99.9 |`,
        '|---|---:|---:|---:|---:|---:|',
        `| pod-preflight serve | ${fmt(preflightMax, 0)} | ${fmt(atHalf.p50)} ms | ${fmt(atHalf.p90)} ms | ${fmt(atHalf.p99)} ms | ${fmt(atHalf.p999)} ms |`,
        `| minimal Fastify (allowed: true) | ${fmt(minimalMax, 0)} | ${fmt(minimalAtHalf.p50)} ms | ${fmt(minimalAtHalf.p90)} ms | ${fmt(minimalAtHalf.p99)} ms | ${fmt(minimalAtHalf.p999)} ms |`,
        '',
        `throughput ratio: ${fmt(ratio, 3)} (target >= 0.8: ${ratio >= 0.8 ? 'met' : 'NOT met'}); ` +
          `p99 at half of the maximum rate: ${fmt(atHalf.p99)} ms (target < 5 ms: ${atHalf.p99 < 5 ? 'met' : 'NOT met'})`,
        `CPU at saturation, share of a core: server ${fmt(mean(rounds.map((r) => r.preflight.serverCpu)))} / ${fmt(mean(rounds.map((r) => r.minimal.serverCpu)))}, ` +
          `load generator ${fmt(mean(rounds.map((r) => r.preflight.clientCpu)))} / ${fmt(mean(rounds.map((r) => r.minimal.clientCpu)))}`,
      )
    }

    // CPU per review with the client's cost out of the server's numbers: wrk, when installed.
    const wrk = findWrk()
    let cpu: CpuResult[] = []
    if (wrk !== undefined) {
      const measured = await cpuPerReview(pair, wrk, { seconds: Number(process.env['BENCH_CPU_SECONDS'] ?? 5), rounds: ROUNDS })
      cpu = measured.results
      lines.push(...measured.lines)
    } else {
      lines.push('', 'wrk is not installed (Debian: apt-get install wrk): no CPU per review with an external load generator; the figures below are with the Node generator on the same cores')
    }
    const costs = await reviewCosts(COST_REVIEWS)
    lines.push(...costTables(costs))
    const nodeCpu = (scenario: string): number => {
      const sc = scenarios[scenario] as { max: { rounds: { preflight: Measured; minimal: Measured }[] } } | undefined
      return sc === undefined ? NaN : mean(sc.max.rounds.map((r) => r.preflight.cpuPerReview / r.minimal.cpuPerReview))
    }
    const half = (scenario: string): number => (scenarios[scenario] as { halfRate: { preflight: Measured } } | undefined)?.halfRate.preflight.p99 ?? NaN
    const byClass = (name: string): CpuResult | undefined => cpu.find((c) => c.class === name)
    const ratioText = (r: CpuResult | undefined, target: number): string => (r === undefined ? 'n/a (no wrk)' : `${fmt(r.ratio)}x (target <= ${target}x: ${r.ratio <= target ? 'met' : 'NOT met'})`)
    lines.push(
      '',
      'The targets, this run:',
      `- CPU per review, new ReplicaSet-owned Pod / minimal server: ${ratioText(byClass('new ReplicaSet-owned Pod'), 1.3)}`,
      `- CPU per review, new Deployment / minimal server: ${ratioText(byClass('new Deployment'), 2)}`,
      `- CPU per review, a rollout's next Pod (cache hit) / minimal server: ${byClass("a rollout's next Pod (cache hit)") === undefined ? 'n/a' : `${fmt(byClass("a rollout's next Pod (cache hit)")?.ratio ?? NaN)}x`}`,
      `- CPU per review with the Node generator on the same cores (mixed reviews; the client's load counts in): unique ${fmt(nodeCpu('unique'))}x, repeat ${fmt(nodeCpu('repeat'))}x`,
      `- p99 at half of the maximum rate (open loop, Node generator): unique ${fmt(half('unique'))} ms, repeat ${fmt(half('repeat'))} ms (target < 5 ms: ${Math.max(half('unique'), half('repeat')) < 5 ? 'met' : 'NOT met'})`,
    )
    const logLines = (await readFile(preflight.logPath, 'utf8')).split('\n').filter((l) => l.includes('"msg":"review"')).length
    const result = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', node: process.version, loadavg: loadavg() },
      settings: { seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, reviews: reviews.length, bodyBytes: { min: Math.min(...sizes), max: Math.max(...sizes) } },
      scenarios,
      cpuPerReview: cpu,
      costs,
      reviewLogLines: logLines,
      errors,
    }
    if (JSON_ONLY) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
      return
    }
    lines.push('', `errors: ${errors}; pod-preflight wrote ${logLines} review log lines; load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`, '')
    process.stdout.write(lines.join('\n'))
  } finally {
    await pair.stop()
  }
}

await main()
