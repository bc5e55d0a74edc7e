/**
 * `pod-preflight check` on 10,000 pod-bearing documents against two baselines measured in the
 * same run, interleaved so the ratios hold on a shared, noisy machine:
 *   - js-yaml's loadAll of the same text (values only, no positions, no rules): the floor;
 *   - the previous reader (the yaml package's parseAllDocuments, keeping every position) with
 *     the same rules: what `check` cost before the fast path.
 * Then the start-up time of the built CLI (`check` of one small file) against `node -e 0`
 * (bench/startup.ts, also run alone by npm run bench:startup).
 *
 * The schema check (schema-invalid) is measured apart as well: check as the CLI runs it (with the
 * Kubernetes schemas) against the same check without them, in the same rounds; and the one-off
 * cost of the first validation of each kind used, on a version not used before in the process
 * (reading that version's schemas; nothing is compiled for the built-in kinds).
 * Every phase is timed in wall time and in the process's CPU time (user + system), which other
 * jobs on a shared machine disturb less, from a collected heap (with --expose-gc, as npm run
 * bench:check runs it), median of BENCH_ROUNDS rounds (5). One more round of check, not among the measured ones,
 * times every rule (the engine's ruleTimes) and prints the slowest.
 * The code measured is the built one (dist/), as the CLI runs it.
 * Run: npm run bench:check  (it builds dist/ first)
 */
import { performance } from 'node:perf_hooks'
import { loadavg } from 'node:os'
import jsyaml from 'js-yaml'
import { manifests } from './manifests.js'
import { measureStartup, startupTable } from './startup.js'
import type { SchemaCheck } from '../src/engine/rule.js'
import type { RuleTime } from '../src/engine/evaluate.js'

// The built code (dist/), as the CLI runs it: `npm run bench:check` builds it first.
const dist = async <T>(path: string): Promise<T> => (await import(new URL(`../dist/${path}`, import.meta.url).href)) as T
const { parseDocuments } = await dist<typeof import('../src/input/documents.js')>('input/documents.js')
const { runCheck } = await dist<typeof import('../src/cli/run-check.js')>('cli/run-check.js')
const { RULES } = await dist<typeof import('../src/rules/index.js')>('rules/index.js')
const { loadDefaultPolicy } = await dist<typeof import('../src/policy/policy.js')>('policy/policy.js')
const { relatedFromObjects } = await dist<typeof import('../src/engine/related.js')>('engine/related.js')
const { kubernetesSchemas, SHIPPED_VERSIONS } = await dist<typeof import('../src/schema/kubernetes.js')>('schema/kubernetes.js')

const COUNT = Number(process.env['BENCH_DOCS'] ?? 10000)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)
const STARTS = Math.max(15, Number(process.env['BENCH_STARTS'] ?? 15))

const text = manifests(COUNT)
const loadBefore = loadavg()[0] ?? 0
const policy = await loadDefaultPolicy(RULES)

function loadOnly(): number {
  let n = 0
  for (const d of jsyaml.loadAll(text)) if (d !== null) n++
  return n
}

/** Time spent validating, summed over a round: the schema check's own share, less exposed to the machine's noise. */
let validateMs = 0
function timed(s: SchemaCheck): SchemaCheck {
  return {
    version: s.version,
    covers: (a, k) => s.covers(a, k),
    validate(o, limit) {
      const t0 = performance.now()
      try {
        return s.validate(o, limit)
      } finally {
        validateMs += performance.now() - t0
      }
    },
  }
}

/** check as the CLI runs it (with the Kubernetes schemas), with the fast or the previous reader; with ruleTimes, each rule timed. */
function check(exact: boolean, schemas = true, ruleTimes?: Map<string, RuleTime>): () => number {
  return () => {
    const { documents, errors } = parseDocuments(text, 'bench.yaml', { exact })
    const report = runCheck(documents, errors, {
      policy,
      rules: RULES,
      namespace: 'default',
      related: relatedFromObjects(documents.map((d) => d.value), { complete: false }),
      // As check builds it for each run; the validators are kept for the process.
      ...(schemas ? { schemas: timed(kubernetesSchemas()) } : {}),
      files: 1,
      ...(ruleTimes !== undefined ? { ruleTimes } : {}),
    })
    return report.summary.objects
  }
}

/** A full collection between phases when the bench runs with --expose-gc (npm run bench:check does). */
const collect = (globalThis as { gc?: () => void }).gc

/**
 * Wall time, and the process's CPU time (user + system): less disturbed by other jobs on a shared
 * machine. Each phase starts from a collected heap, so that none pays for the garbage of the one
 * before it (the previous reader leaves hundreds of megabytes of old objects, which the next
 * phase's first major collection would otherwise sweep, and charge to whichever phase it fell
 * in); a phase still pays every collection its own work causes, as `check` does in its process.
 */
function time(fn: () => number): { ms: number; cpuMs: number; n: number } {
  collect?.()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const n = fn()
  const ms = performance.now() - t0
  const c = process.cpuUsage(c0)
  return { ms, cpuMs: (c.user + c.system) / 1000, n }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}
const round2 = (x: number): number => Math.round(x * 100) / 100

// The first validation of each kind of this set, on a version not used yet: reading its schemas.
const firstVersion = SHIPPED_VERSIONS[0] ?? '1.33'
const { documents: sample } = parseDocuments(text, 'bench.yaml')
const kinds = new Map<string, Record<string, unknown>>()
for (const d of sample) {
  const v = d.value as Record<string, unknown>
  const k = `${String(v['apiVersion'])}/${String(v['kind'])}`
  if (!kinds.has(k)) kinds.set(k, v)
}
const fresh = kubernetesSchemas({ version: firstVersion })
const firstUseMs = time(() => {
  for (const v of kinds.values()) fresh.validate(v, 20)
  return kinds.size
}).ms

// Warm up every path (JIT, validators), then interleave the measured rounds.
const fast = check(false)
const fastNoSchemas = check(false, false)
const previous = check(true)
time(loadOnly)
time(fast)
time(fastNoSchemas)
time(previous)
const loadTimes: number[] = []
const checkTimes: number[] = []
const noSchemaTimes: number[] = []
const validateTimes: number[] = []
const previousTimes: number[] = []
const loadCpu: number[] = []
const checkCpu: number[] = []
const previousCpu: number[] = []
let judged = 0
for (let r = 0; r < ROUNDS; r++) {
  const l = time(loadOnly)
  loadTimes.push(l.ms)
  loadCpu.push(l.cpuMs)
  validateMs = 0
  const c = time(fast)
  checkTimes.push(c.ms)
  checkCpu.push(c.cpuMs)
  validateTimes.push(validateMs)
  judged = c.n
  noSchemaTimes.push(time(fastNoSchemas).ms)
  const p = time(previous)
  previousTimes.push(p.ms)
  previousCpu.push(p.cpuMs)
}
// One more round of check with every rule timed (not among the measured rounds: reading the
// clock around each rule costs a little). Analyses shared by several rules (a container's heap
// settings, its command) are counted in the first rule that asks for them.
const ruleTimes = new Map<string, RuleTime>()
const timedRound = time(check(false, true, ruleTimes))
const load = median(loadTimes)
const chk = median(checkTimes)
const noSchemas = median(noSchemaTimes)
const validate = median(validateTimes)
const prev = median(previousTimes)
const loadC = median(loadCpu)
const chkC = median(checkCpu)
const prevC = median(previousCpu)
let rulesMs = 0
for (const t of ruleTimes.values()) rulesMs += t.ms
const topRules = [...ruleTimes].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)

// Start-up: the built CLI on one small file, against an empty node process, interleaved (bench/startup.ts).
const startup = measureStartup(STARTS)

const docsPerSecond = (ms: number): number => Math.round((COUNT / ms) * 1000)
const result = {
  documents: COUNT,
  judged,
  bytes: text.length,
  rounds: ROUNDS,
  collectedBetweenPhases: collect !== undefined,
  loadAllMs: Math.round(load),
  checkMs: Math.round(chk),
  previousCheckMs: Math.round(prev),
  loadAllDocsPerSecond: docsPerSecond(load),
  checkDocsPerSecond: docsPerSecond(chk),
  previousCheckDocsPerSecond: docsPerSecond(prev),
  ratioToLoadAll: round2(chk / load),
  ratioTarget: 1.5,
  speedUp: round2(prev / chk),
  speedUpTarget: 5,
  loadAverage: [round2(loadBefore), round2(loadavg()[0] ?? 0)],
  cpu: { loadAllMs: Math.round(loadC), checkMs: Math.round(chkC), previousCheckMs: Math.round(prevC), ratioToLoadAll: round2(chkC / loadC), speedUp: round2(prevC / chkC) },
  rules: {
    roundMs: Math.round(timedRound.ms),
    inRulesMs: Math.round(rulesMs),
    share: round2(rulesMs / timedRound.ms),
    top: topRules.map(([rule, t]) => ({ rule, ms: Math.round(t.ms), usPerObject: round2((t.ms * 1000) / t.runs), share: Math.round((t.ms / timedRound.ms) * 1000) / 1000 })),
  },
  startup: startup ?? 'dist/cli/bin.js not built',
  startupTarget: 2,
  checkWithoutSchemasMs: Math.round(noSchemas),
  schemaRatio: round2(chk / noSchemas),
  schemaTarget: 1.25,
  schemaValidateMs: Math.round(validate),
  schemaValidateShare: Math.round((validate / noSchemas) * 1000) / 1000,
  schemaFirstUseMs: Math.round(firstUseMs),
  schemaFirstUseKinds: kinds.size,
  schemaFirstUseVsLoadAll: round2(firstUseMs / load),
}
const mark = (ok: boolean): string => (ok ? 'met' : 'not met')
process.stdout.write(`${JSON.stringify(result)}\n\n`)
process.stdout.write(
  `| documents | js-yaml loadAll | check | check (previous reader) | check / loadAll | speed-up |\n|---|---|---|---|---|---|\n` +
    `| ${COUNT} | ${result.loadAllDocsPerSecond}/s | ${result.checkDocsPerSecond}/s | ${result.previousCheckDocsPerSecond}/s | ${result.ratioToLoadAll} (target ≤ 1.5: ${mark(result.ratioToLoadAll <= 1.5)}) | ${result.speedUp}× (target ≥ 5: ${mark(result.speedUp >= 5)}) |\n`,
)
process.stdout.write(
  `\nload average ${result.loadAverage[0]} before, ${result.loadAverage[1]} after the rounds; median of ${ROUNDS} rounds; ${collect !== undefined ? 'heap collected before each phase' : 'heap NOT collected between phases (run with --expose-gc)'}\n` +
    `CPU time (user + system) of the same rounds: loadAll ${result.cpu.loadAllMs} ms, check ${result.cpu.checkMs} ms, previous reader ${result.cpu.previousCheckMs} ms: ` +
    `check / loadAll ${result.cpu.ratioToLoadAll}, speed-up ${result.cpu.speedUp}×\n`,
)
process.stdout.write(
  `\nrules: ${result.rules.inRulesMs} ms of a ${result.rules.roundMs} ms check round (${Math.round(result.rules.share * 100)}%) is spent inside rules; the slowest:\n` +
    `| rule | ms a round | µs an object | share of check |\n|---|---|---|---|\n` +
    result.rules.top.map((r) => `| ${r.rule} | ${r.ms} | ${r.usPerObject} | ${(r.share * 100).toFixed(1)}% |`).join('\n') +
    '\n',
)
if (startup !== undefined) process.stdout.write(`\n${startupTable(startup)}`)
process.stdout.write(
  `\n| documents | check without schemas (median) | check (median) | ratio | target | first validation of ${kinds.size} kinds, once |\n|---|---|---|---|---|---|\n` +
    `| ${COUNT} | ${result.checkWithoutSchemasMs} ms | ${result.checkMs} ms | ${result.schemaRatio} | ≤ ${result.schemaTarget} | ${result.schemaFirstUseMs} ms (${result.schemaFirstUseVsLoadAll} × loadAll) |\n` +
    `\nvalidating alone: ${result.schemaValidateMs} ms a round, ${result.schemaValidateShare} × check without schemas\n`,
)
