#!/usr/bin/env node
/**
 * The conformance runner: `npm run conformance -- DIR`. DIR holds peer projects' fixtures and
 * an expectations.json saying which of our rules must fire or stay silent on which file.
 * Every file under DIR is read; a crash, an unrecognised pod-bearing object or an unmet
 * expectation fails the run. Deny findings on files a peer considers passing are listed for
 * review, since each one must be defensible. DIR/real-captures (real `kubectl describe`
 * captures with their expected causes, for `explain`) and DIR/image-ref (image references with
 * the kubelet's verdict) are scored too; anything below 100% fails the run.
 */
import { readFile, readdir } from 'node:fs/promises'
import { join, relative, extname } from 'node:path'
import { parseDocuments } from '../input/documents.js'
import { RULES } from '../rules/index.js'
import { loadDefaultPolicy } from '../policy/policy.js'
import { runCheck } from '../cli/run-check.js'
import { POD_BEARING_KINDS, isPodBearing } from '../engine/workload.js'
import { relatedFromObjects } from '../engine/related.js'
import { allFindings } from '../cli/report.js'
import { scoreImageVectors, type Score } from './image-vectors.js'
import { scoreRealCaptures } from './real-captures.js'

/** Folders scored on their own terms, not as peer manifests. */
const SCORED_APART = new Set(['real-captures', 'image-ref'])

interface Case {
  file: string
  fire: string[]
  silent: string[]
}

async function walk(dir: string, root: string = dir): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) {
      if (!(dir === root && SCORED_APART.has(e.name))) out.push(...(await walk(p, root)))
    }
    else if (['.yaml', '.yml', '.json'].includes(extname(e.name).toLowerCase()) && e.name !== 'expectations.json') out.push(p)
  }
  return out.sort()
}

/** A peer's "passing" fixture, by the naming conventions of kube-score and Polaris. */
function peerPasses(file: string): boolean {
  return /(^|[/.-])(success|ok|valid|good|fixed|set|matches|targets?)([/.-]|$)/i.test(file) && !/(failure|fail|invalid|bad|not-)/i.test(file)
}

export async function conformance(dir: string, log: (s: string) => void): Promise<number> {
  const expectations = JSON.parse(await readFile(join(dir, 'expectations.json'), 'utf8')) as { cases: Case[] }
  const policy = await loadDefaultPolicy(RULES)
  const files = await walk(dir)
  const failures: string[] = []
  const review: string[] = []
  const byFile = new Map<string, Set<string>>()
  let objects = 0
  let podBearing = 0
  let readErrors = 0
  for (const abs of files) {
    const rel = relative(dir, abs)
    let report
    try {
      const text = await readFile(abs, 'utf8')
      const { documents, errors } = parseDocuments(text, rel)
      readErrors += errors.length
      for (const d of documents) {
        const v = d.value as Record<string, unknown> | null
        if (v !== null && typeof v === 'object' && typeof v['kind'] === 'string' && POD_BEARING_KINDS.includes(v['kind'])) {
          podBearing++
          if (!isPodBearing(v)) failures.push(`${rel}: a ${String(v['kind'])} of apiVersion ${String(v['apiVersion'])} was not recognised as pod-bearing`)
        }
      }
      report = runCheck(documents, errors, { policy, rules: RULES, namespace: 'default', related: relatedFromObjects(documents.map((d) => d.value), { complete: false }), files: 1 })
    } catch (err) {
      failures.push(`${rel}: crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      continue
    }
    objects += report.summary.objects
    for (const w of report.warnings.filter((w) => w.message.includes('could not judge'))) failures.push(`${rel}: ${w.message}`)
    const fired = new Set(allFindings(report).map((f) => f.rule))
    byFile.set(rel, fired)
    if (peerPasses(rel)) {
      for (const f of allFindings(report).filter((f) => f.action === 'deny')) review.push(`${rel}: ${f.rule} at ${f.path}: ${f.message}`)
    }
  }
  let met = 0
  for (const c of expectations.cases) {
    const fired = byFile.get(c.file)
    if (fired === undefined) {
      failures.push(`${c.file}: listed in expectations.json but not found or not read`)
      continue
    }
    for (const r of c.fire) {
      if (fired.has(r)) met++
      else failures.push(`${c.file}: expected ${r} to fire; it did not`)
    }
    for (const r of c.silent) {
      if (!fired.has(r)) met++
      else failures.push(`${c.file}: expected ${r} to stay silent; it fired`)
    }
  }
  log(`conformance: ${files.length} files read, ${podBearing} pod-bearing objects recognised, ${objects} judged, ${readErrors} unreadable documents reported`)
  log(`conformance: ${met} of ${met + failures.filter((f) => f.includes('expected')).length} expectations met in ${expectations.cases.length} cases`)
  if (review.length > 0) {
    log(`conformance: ${review.length} deny findings on files the peer considers passing (each must be defensible):`)
    for (const r of review) log(`  ${r}`)
  }
  for (const f of failures) log(`FAIL ${f}`)
  log(`conformance: ${met} passed, ${failures.length} failed`)
  const peerOk = failures.length === 0
  const scored: [string, () => Promise<Score>][] = [
    ['real captures (explain)', () => scoreRealCaptures(join(dir, 'real-captures'))],
    ['image-ref vectors (image-name-invalid, image-tag-latest)', () => scoreImageVectors(join(dir, 'image-ref', 'vectors.json'), policy, RULES)],
  ]
  let scoredOk = true
  for (const [what, score] of scored) {
    let s: Score
    try {
      s = await score()
    } catch (err) {
      log(`FAIL ${what}: cannot be scored: ${err instanceof Error ? err.message : String(err)}`)
      scoredOk = false
      continue
    }
    for (const f of s.failures) log(`FAIL ${f}`)
    const pct = s.total === 0 ? 0 : Math.floor((s.passed / s.total) * 1000) / 10
    log(`conformance: ${what}: ${s.passed}/${s.total} (${pct}%)`)
    if (s.total === 0 || s.passed < s.total) scoredOk = false
  }
  return peerOk && scoredOk ? 0 : 1
}

const dir = process.argv[2]
if (dir === undefined) {
  process.stderr.write('usage: npm run conformance -- DIR (a folder with expectations.json)\n')
  process.exitCode = 2
} else {
  conformance(dir, (s) => process.stdout.write(`${s}\n`)).then(
    (code) => { process.exitCode = code },
    (err: unknown) => {
      process.stderr.write(`conformance: ${err instanceof Error ? err.message : String(err)}\n`)
      process.exitCode = 2
    },
  )
}
