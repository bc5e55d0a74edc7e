/**
 * The policy in force. Loaded once at start (the webhook is not ready before), and, for a
 * policy file given with --policy, reloaded when the file changes: a bad edit is logged and the
 * policy in force stays, so a typo never opens or closes the gate.
 */
import type { Logger } from 'pino'
import type { PodRule } from '../engine/rule.js'
import { loadDefaultPolicy, parsePolicy, PolicyError, type Policy, loadPolicyFile } from '../policy/policy.js'
import type { PolicySource } from './app.js'
import { watchFiles, type FileWatch } from './file-watch.js'
import type { WebhookMetrics } from './metrics.js'
import { readFile } from 'node:fs/promises'

export class PolicyStore implements PolicySource {
  private policy: Policy | undefined
  current(): Policy | undefined {
    return this.policy
  }
  set(policy: Policy): void {
    this.policy = policy
  }
}

export async function loadPolicy(file: string | undefined, rules: readonly PodRule<unknown>[]): Promise<Policy> {
  return file === undefined ? loadDefaultPolicy(rules) : loadPolicyFile(file, rules)
}

export async function startPolicyReloader(o: {
  file: string
  rules: readonly PodRule<unknown>[]
  store: PolicyStore
  intervalMs: number
  logger: Logger
  metrics: WebhookMetrics
}): Promise<FileWatch> {
  const log = o.logger.child({ component: 'policy' })
  const initial = await readFile(o.file)
  return watchFiles(
    [o.file],
    o.intervalMs,
    [initial],
    ([text]) => {
      if (text === undefined) return
      const next = parsePolicy(text.toString('utf8'), o.file, o.rules)
      o.store.set(next)
      o.metrics.policyReloads.inc({ result: 'ok' })
      log.info({ policy: next.name, source: next.source }, 'policy reloaded')
    },
    (err) => {
      o.metrics.policyReloads.inc({ result: 'error' })
      const problems = err instanceof PolicyError ? err.problems : [err instanceof Error ? err.message : String(err)]
      log.error({ problems }, 'policy not reloaded; keeping the one in force')
    },
  )
}
