/**
 * `pod-preflight audit` without argument parsing: read the cluster (live or files), judge,
 * print. The CLI wrapper (src/cli/commands/audit.ts) turns flags into AuditCommandOptions.
 */
import { resolve } from 'node:path'
import type { PodRule } from '../engine/rule.js'
import { BUILTIN_PREFIX, loadDefaultPolicy, loadPolicyFile, PolicyError, type Policy } from '../policy/policy.js'
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, type CliIO } from '../cli/io.js'
import { progName, writeOutputFile } from '../cli/command.js'
import { safeText } from '../text/sanitize.js'
import { runAudit, type AuditReport } from './audit.js'
import { formatAuditJson, formatAuditSarif, formatAuditText } from './format.js'
import { formatAuditHtml } from './html.js'
import { readClusterFiles, readLiveCluster, type AuditInput } from './sources.js'

export const AUDIT_FORMATS = ['text', 'json', 'sarif', 'html'] as const
export type AuditFormat = (typeof AUDIT_FORMATS)[number]

export interface AuditCommandOptions {
  rules: readonly PodRule<unknown>[]
  format: AuditFormat
  /** Write the report here instead of standard output. */
  outputFile?: string
  policyFile?: string
  /** Files instead of the live cluster. */
  clusterState?: readonly string[]
  kubeconfig?: string
  context?: string
  /** Namespaces to audit; all when undefined (-A). */
  namespaces?: readonly string[]
  failOn: 'deny' | 'warn' | 'info' | 'never'
  color: boolean
  showInfo: boolean
  /** Show a progress line on stderr (the CLI sets it for a terminal only). */
  progress: boolean
  now?: Date
}

/** One line on stderr, rewritten in place; cleared before anything else is printed. */
function progressLine(io: CliIO, on: boolean): { show(text: string): void; clear(): void } {
  let shown = false
  return {
    show(text) {
      if (!on) return
      io.stderr.write(`\r\u001b[2K${text}`)
      shown = true
    },
    clear() {
      if (shown) io.stderr.write('\r\u001b[2K')
      shown = false
    },
  }
}

export async function auditCommand(o: AuditCommandOptions, io: CliIO): Promise<number> {
  const say = (m: string): void => void io.stderr.write(`${progName(io)} audit: ${m}\n`)
  let policy: Policy
  try {
    policy = o.policyFile !== undefined ? await loadPolicyFile(o.policyFile.startsWith(BUILTIN_PREFIX) ? o.policyFile : resolve(io.cwd, o.policyFile), o.rules) : await loadDefaultPolicy(o.rules)
  } catch (err) {
    if (err instanceof PolicyError) {
      say(`the policy cannot be used:\n${err.problems.map((p) => `  ${p}`).join('\n')}`)
      return EXIT_USAGE
    }
    throw err
  }

  const progress = progressLine(io, o.progress)
  let input: AuditInput
  if (o.clusterState !== undefined && o.clusterState.length > 0) {
    progress.show('reading the cluster state files…')
    input = await readClusterFiles(o.clusterState, { cwd: io.cwd, stdin: io.stdin })
  } else {
    const { loadKubeConfig, ClusterError } = await import('../analyzer/cluster-source.js')
    let kc
    try {
      kc = loadKubeConfig({ env: io.env, ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}), ...(o.context !== undefined ? { context: o.context } : {}) })
    } catch (err) {
      if (err instanceof ClusterError) {
        say(err.message)
        return EXIT_USAGE
      }
      throw err
    }
    try {
      input = await readLiveCluster({
        kubeConfig: kc,
        ...(o.namespaces !== undefined ? { namespaces: o.namespaces } : {}),
        onList: (what, n) => progress.show(`listing ${what}… (${n} objects so far)`),
      })
    } catch (err) {
      progress.clear()
      say(safeText(err instanceof Error ? err.message : String(err), 600))
      return EXIT_USAGE
    }
  }

  const report: AuditReport = runAudit(input.objects, {
    policy,
    rules: o.rules,
    cluster: input.view,
    events: input.events,
    source: input.source,
    ...(o.namespaces !== undefined ? { namespaces: o.namespaces } : {}),
    ...(o.now !== undefined ? { now: o.now } : {}),
    onProgress: (done, total) => progress.show(`judging workloads: ${done}/${total}`),
  })
  progress.clear()
  report.errors.push(...input.errors)
  report.notes.unshift(...input.notes)

  let text: string
  switch (o.format) {
    case 'json':
      text = formatAuditJson(report)
      break
    case 'sarif':
      text = formatAuditSarif(report, o.rules)
      break
    case 'html':
      text = formatAuditHtml(report)
      break
    default:
      text = formatAuditText(report, { color: o.color, showInfo: o.showInfo })
  }
  if (o.outputFile !== undefined && o.outputFile !== '-') {
    await writeOutputFile(o.outputFile, text, io)
    const s = report.summary
    say(`wrote ${o.outputFile}: ${s.workloads} workloads, ${s.workloadsBy.deny} would be denied, ${s.failingPods} failing pods`)
  } else {
    io.stdout.write(text)
  }
  if (o.format !== 'text') for (const e of report.errors) say(safeText(e, 600))
  // A --cluster-state file that could not be read (or held no Kubernetes objects) fails the run, as
  // an unreadable manifest fails check: the report of the rest is still written.
  if (report.errors.length > 0) return EXIT_USAGE

  const f = report.summary.findings
  const failing = o.failOn === 'never' ? 0 : f.deny + (o.failOn !== 'deny' ? f.warn : 0) + (o.failOn === 'info' ? f.info : 0)
  return failing > 0 ? EXIT_FINDINGS : EXIT_OK
}
