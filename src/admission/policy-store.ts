/**
 * The policy in force. Loaded once at start (the webhook is not ready before), and, for a
 * policy file given with --policy, reloaded when the file changes: a bad edit is logged, counted
 * and shown in /readyz, and the policy in force stays, so a typo never opens or closes the gate.
 *
 * A ConfigMap mounted as a volume is a directory the kubelet rewrites atomically: the files
 * live in a timestamped directory (`..2026_12_05_09_30_00.123456789/`), `..data` is a symlink
 * to it, and each key is a symlink `policy.yaml -> ..data/policy.yaml`. An update writes a new
 * timestamped directory, points `..data_tmp` at it, renames `..data_tmp` over `..data` (the one
 * atomic step) and removes the old directory. Reading the path follows the links afresh each
 * time, so every read sees one version whole; a read that races the removal of the old
 * directory fails with ENOENT and is simply tried again at the next poll (see file-watch.ts).
 */
import type { Logger } from 'pino'
import type { PodRule } from '../engine/rule.js'
import { loadDefaultPolicy, parsePolicy, PolicyError, type Policy, loadPolicyFile } from '../policy/policy.js'
import type { PolicySource } from './app.js'
import { readCapped, watchFiles, type FileWatch } from './file-watch.js'
import type { WebhookMetrics } from './metrics.js'
import { truncate } from './warnings.js'

/** A ConfigMap holds at most 1 MiB; a policy file larger than this is refused, not read whole. */
export const MAX_POLICY_BYTES = 1024 * 1024

export interface RefusedEdit {
  /** What was wrong, each naming file, line and path. */
  problems: string[]
  at: Date
}

export class PolicyStore implements PolicySource {
  private policy: Policy | undefined
  private loadedAt: Date | undefined
  private refused: RefusedEdit | undefined
  private readonly listeners: ((p: Policy) => void)[] = []

  current(): Policy | undefined {
    return this.policy
  }
  set(policy: Policy, at = new Date()): void {
    this.policy = policy
    this.loadedAt = at
    this.refused = undefined
    for (const l of this.listeners) l(policy)
  }
  /** Records an edit that could not be loaded; the policy in force stays. */
  refuse(problems: string[], at = new Date()): void {
    this.refused = { problems, at }
  }
  /** The last edit that was refused since the policy in force was loaded. */
  lastRefused(): RefusedEdit | undefined {
    return this.refused
  }
  /** Called with each policy put in force, from now on. */
  onChange(listener: (p: Policy) => void): void {
    this.listeners.push(listener)
  }
  /** One line for /readyz: which policy serves, and the refused edit if there is one. */
  detail(): string | undefined {
    const p = this.policy
    if (p === undefined) return undefined
    const bindings = p.bindings.length > 0 ? `, ${p.bindings.length} ${p.bindings.length === 1 ? 'binding' : 'bindings'}` : ''
    const owned = p.ownedObjects === 'skip' ? ', controller-owned objects not judged' : ''
    const what = `policy: ${truncate(p.name, 80)} (${p.mode}${bindings}${owned}) from ${truncate(p.source, 200)}, loaded ${this.loadedAt?.toISOString() ?? '?'}`
    if (this.refused === undefined) return what
    const first = truncate(this.refused.problems[0] ?? 'unreadable', 300)
    const more = this.refused.problems.length > 1 ? ` (+${this.refused.problems.length - 1} more)` : ''
    return `${what}; the edit read at ${this.refused.at.toISOString()} was refused and this policy stays in force: ${first}${more}`
  }
}

export async function loadPolicy(file: string | undefined, rules: readonly PodRule<unknown>[]): Promise<Policy> {
  return file === undefined ? loadDefaultPolicy(rules) : loadPolicyFile(file, rules)
}

/**
 * A policy file's text and the policy it holds, read once (for a process that hands the same
 * text on, as the primary of serve --workers does). The errors are loadPolicyFile's.
 */
export async function readPolicyText(file: string, rules: readonly PodRule<unknown>[]): Promise<{ text: Buffer; policy: Policy }> {
  let text: Buffer
  try {
    text = await readCapped(file, MAX_POLICY_BYTES)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new PolicyError([`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (err instanceof Error ? err.message : String(err))})`}`])
  }
  return { text, policy: parsePolicy(text.toString('utf8'), file, rules) }
}

export async function startPolicyReloader(o: {
  file: string
  rules: readonly PodRule<unknown>[]
  store: PolicyStore
  intervalMs: number
  logger: Logger
  metrics: WebhookMetrics
  /** The text the policy in force was read from, when the caller read it (else read now). */
  initial?: Buffer
  /** Called with the text of each edit put in force, after the store has it. */
  onLoaded?: (text: string) => void
}): Promise<FileWatch> {
  const log = o.logger.child({ component: 'policy' })
  const initial = o.initial ?? (await readCapped(o.file, MAX_POLICY_BYTES))
  // A file that cannot be read stays unreadable poll after poll: say so once per distinct cause.
  let lastReadError: string | undefined
  const refuse = (problems: string[]): void => {
    o.store.refuse(problems)
    o.metrics.policyReloads.inc({ result: 'error' })
    o.metrics.policyLastReloadOk.set({}, 0)
    o.metrics.policyLastReloadTime.set({}, Date.now() / 1000)
    const p = o.store.current()
    log.error({ problems, inForce: p?.name, source: o.file }, 'policy edit refused; the policy in force stays')
  }
  return watchFiles(
    [o.file],
    o.intervalMs,
    [initial],
    ([text]) => {
      if (text === undefined) return
      lastReadError = undefined
      let next: Policy
      const source = text.toString('utf8')
      try {
        next = parsePolicy(source, o.file, o.rules)
      } catch (err) {
        refuse(err instanceof PolicyError ? err.problems : [`${o.file}: ${err instanceof Error ? err.message : String(err)}`])
        return
      }
      o.store.set(next)
      o.onLoaded?.(source)
      o.metrics.policyReloads.inc({ result: 'ok' })
      o.metrics.policyLastReloadOk.set({}, 1)
      o.metrics.policyLastReloadTime.set({}, Date.now() / 1000)
      log.info({ policy: next.name, mode: next.mode, bindings: next.bindings.map((b) => b.name), source: next.source }, 'policy reloaded')
    },
    (err) => {
      const code = (err as NodeJS.ErrnoException).code
      const reason = err instanceof Error ? err.message : String(err)
      const problem = `${o.file}: ${code === 'ENOENT' ? 'no such file (the ConfigMap key may have been removed)' : reason}`
      if (problem === lastReadError) return
      lastReadError = problem
      refuse([problem])
    },
    { maxBytes: MAX_POLICY_BYTES, retryMissingMs: 200 },
  )
}
