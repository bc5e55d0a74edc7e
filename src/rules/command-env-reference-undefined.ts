import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { ENV_NAME, UPPER_ENV_NAME, argPath, execArgvs, isServiceLinkName, kubeRefs, processEnv, shellInvocation } from '../engine/command.js'
import type { EnvVar } from '../engine/k8s.js'
import { MAX_FINDINGS_PER_RULE } from '../engine/rule.js'
import { checkDeadline } from '../engine/deadline.js'
import { shorten } from '../text/sanitize.js'

function lastEntry(env: readonly EnvVar[] | undefined, name: string): EnvVar | undefined {
  let found: EnvVar | undefined
  for (const e of env ?? []) if (e.name === name) found = e
  return found
}

/** At most this many names are written out in one message; the rest are counted. */
const NAMES_SHOWN = 5
/** Longest name written out in a message. */
const NAME_SHOWN = 60

function nameText(name: string): string {
  return shorten(name, NAME_SHOWN)
}

function refsOf(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).map((n) => `$(${nameText(n)})`).join(', ')
  return names.length > NAMES_SHOWN ? `${shown} and ${names.length - NAMES_SHOWN} more` : shown
}

function namesOf(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).map(nameText).join(', ')
  return names.length > NAMES_SHOWN ? `${shown} and ${names.length - NAMES_SHOWN} more` : shown
}

function viaShell(name: string): string {
  return `["sh", "-c", "… $${nameText(name)} …"]`
}

/**
 * The "did you mean" search, bounded by design: only names whose length is within the allowed
 * distance are compared, at most MAX_COMPARISONS of them, each by a banded edit distance that
 * gives up as soon as the band exceeds the allowance. Work per call: at most
 * MAX_COMPARISONS × (2·MAX_DISTANCE + 1) × the length of the name (itself capped).
 */
const MAX_DISTANCE = 2
const MAX_COMPARISONS = 500
/** Names longer than this are not typo-checked: no one mistypes a 200-character name by one letter. */
const MAX_TYPO_NAME = 128

/** Edit distance when it is at most `max`; otherwise max + 1. Linear in the length for a fixed max. */
export function boundedDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1
  const n = b.length
  const INF = max + 1
  let prev = new Array<number>(n + 1)
  let cur = new Array<number>(n + 1)
  for (let j = 0; j <= n; j++) prev[j] = j <= max ? j : INF
  for (let i = 1; i <= a.length; i++) {
    const lo = Math.max(1, i - max)
    const hi = Math.min(n, i + max)
    cur.fill(INF)
    cur[0] = i <= max ? i : INF
    let best = cur[0] ?? INF
    for (let j = lo; j <= hi; j++) {
      const sub = (prev[j - 1] ?? INF) + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1)
      const del = (prev[j] ?? INF) + 1
      const ins = (cur[j - 1] ?? INF) + 1
      const v = Math.min(sub, del, ins, INF)
      cur[j] = v
      if (v < best) best = v
    }
    // Early exit: every cell of the band is past the allowance.
    if (best > max) return INF
    const t = prev
    prev = cur
    cur = t
  }
  return Math.min(prev[n] ?? INF, INF)
}

/** Defined names by length, upper-cased, built once per container and only when a message needs it. */
type NameIndex = Map<number, string[]>

function nameIndex(defined: Iterable<string>): NameIndex {
  const index: NameIndex = new Map()
  for (const d of defined) {
    if (d.length > MAX_TYPO_NAME) continue
    let list = index.get(d.length)
    if (list === undefined) index.set(d.length, (list = []))
    list.push(d)
  }
  return index
}

/** A defined name close enough to be the one meant (a typo), for the fix. */
function nearName(name: string, index: NameIndex): string | undefined {
  if (name.length > MAX_TYPO_NAME) return undefined
  let bestD = Math.max(1, Math.min(MAX_DISTANCE, Math.floor(name.length / 4)))
  const upper = name.toUpperCase()
  let best: string | undefined
  let compared = 0
  // Nearest lengths first, so that the comparisons allowed go to the likeliest names.
  for (let delta = 0; delta <= bestD; delta++) {
    for (const len of delta === 0 ? [name.length] : [name.length - delta, name.length + delta]) {
      for (const d of index.get(len) ?? []) {
        if (compared++ >= MAX_COMPARISONS) return best
        if (d === name) continue
        const dist = boundedDistance(upper, d.toUpperCase(), bestD)
        if (dist <= bestD && (best === undefined || dist < bestD)) {
          best = d
          bestD = dist
        }
      }
    }
  }
  return best
}

export const rule = defineRule({
  id: 'command-env-reference-undefined',
  title: '$(VAR) reference to a variable the container does not define',
  defaultAction: 'warn',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: '$(VAR) in command/args (or an exec probe or hook) that Kubernetes will not substitute.',
    description:
      'Kubernetes replaces `$(VAR)` in `command` and `args` with the value of VAR from the container environment, using ' +
      'the whole `env` list (a variable defined later in the list counts, and one set by valueFrom counts with the value ' +
      'it gets at run time) and `envFrom`, plus the variables Kubernetes adds for Services. A reference to anything else ' +
      'is left as it is. The rule reports `$(VAR)` where VAR is not defined. `$$(VAR)` is an escape for the literal text ' +
      'and is ignored. When the container has any `envFrom`, the names it brings in cannot be known from the manifest, so ' +
      'command/args references are not judged at all; names shaped like Service variables (`X_SERVICE_HOST`, ' +
      '`X_SERVICE_PORT`, `X_PORT_80_TCP`…) are never reported. Inside a `sh -c` script only upper-case names are taken as ' +
      'references, since `$(hostname)` or `$(date +%s)` there are command substitutions for the shell. Exec probes are ' +
      'expanded differently: only from `env` entries with a literal `value` (an entry set by valueFrom becomes the empty ' +
      'string, and envFrom is not consulted), so the rule reports those cases for probes even when envFrom is present. ' +
      'Lifecycle hook commands (postStart/preStop exec) are never expanded, so every `$(VAR)` there is reported.',
    failure:
      'The program receives the literal text `$(VAR)` (a wrong host name, port or path; often exit 1), or, inside a shell ' +
      'script, the shell runs VAR as a command ("VAR: not found") and substitutes nothing. An exec probe or hook built on ' +
      'it fails or does the wrong thing.',
    fix:
      'Define the variable in the container `env` (or correct the name), write `$$(VAR)` if the literal text is meant, ' +
      'and in probes or hooks read the variable through a shell instead: `["sh", "-c", "… $VAR …"]`.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    // Findings past the cap are counted, not built (see MAX_FINDINGS_PER_RULE).
    let uncounted = 0
    const room = (): boolean => {
      if (findings.length < MAX_FINDINGS_PER_RULE) return true
      uncounted++
      return false
    }
    for (const c of pod.containers) {
      const argvs = execArgvs(c)
      if (!argvs.some((e) => e.argv.some((w) => w.includes('$(')))) continue
      const env = processEnv(c)
      let index: NameIndex | undefined
      for (const e of argvs) {
        if (e.expansion === 'full' && env.hasEnvFrom) continue
        const sh = shellInvocation(e.argv)
        const scriptIndex = sh?.mode === 'command' ? sh.scriptIndex : -1
        e.argv.forEach((word, i) => {
          checkDeadline()
          if (!word.includes('$(')) return
          const inScript = i === scriptIndex
          const missingSet = new Set<string>()
          const emptiedSet = new Set<string>()
          for (const ref of kubeRefs(word)) {
            const name = ref.name
            if (missingSet.has(name) || emptiedSet.has(name) || !(inScript ? UPPER_ENV_NAME : ENV_NAME).test(name)) continue
            if (e.expansion === 'full') {
              if (env.vars.has(name) || isServiceLinkName(name)) continue
            } else if (e.expansion === 'static') {
              const entry = lastEntry(c.spec.env, name)
              if (entry !== undefined && entry.valueFrom === undefined) continue
              if (entry !== undefined) {
                emptiedSet.add(name)
                continue
              }
            }
            missingSet.add(name)
          }
          const missing = [...missingSet]
          const emptied = [...emptiedSet]
          const path = argPath(e, i)
          const field = path.slice(path.lastIndexOf('.') + 1)
          if (missing.length > 0 && room()) {
            const first = nameText(missing[0] ?? '')
            const literally = inScript ? `the shell runs ${first} as a command and gets nothing` : 'the program gets the literal text'
            let message: string
            let fix: string
            index ??= nameIndex(env.vars.keys())
            const near = nearName(missing[0] ?? '', index)
            const meant = near !== undefined ? ` (did you mean ${nameText(near)}?)` : ''
            if (e.expansion === 'full') {
              message = `container "${c.name}": ${refsOf(missing)} in ${field} is not defined in env${meant}, so Kubernetes leaves it and ${literally}`
              fix = inScript
                ? `define ${namesOf(missing)} in the env of container "${c.name}" or fix the name; in the script, $${first} reads the variable at run time`
                : `define ${namesOf(missing)} in the env of container "${c.name}" or fix the name; write $$(NAME) if the literal text is meant`
            } else if (e.expansion === 'static') {
              message = `container "${c.name}": ${refsOf(missing)} in the ${e.label} is not in the env list (probes are expanded from env only, not envFrom), so ${literally}`
              fix = inScript
                ? `write $${first} instead of $(${first}) in the script: the shell reads it from the container's environment`
                : `read it through a shell, e.g. ${viaShell(first)} (the shell sees the container's environment), or define it with a literal value in env`
            } else {
              message = `container "${c.name}": Kubernetes does not expand ${refsOf(missing)} in the ${e.label}; ${literally}`
              fix = inScript
                ? `write $${first} instead of $(${first}) in the script: the shell reads it from the container's environment`
                : `read it through a shell, e.g. ${viaShell(first)}: hook commands see the container's environment but get no $(VAR) substitution`
            }
            findings.push({ path, container: c.name, message, fix })
          }
          if (emptied.length > 0 && room()) {
            findings.push({
              path,
              container: c.name,
              message: `container "${c.name}": ${refsOf(emptied)} in the ${e.label} is set by valueFrom, which exec probes expand to an empty string`,
              fix: inScript
                ? `write $${nameText(emptied[0] ?? 'NAME')} instead of $(${nameText(emptied[0] ?? 'NAME')}) in the script: the shell sees the real value in the container's environment`
                : `read it through a shell, e.g. ${viaShell(emptied[0] ?? 'NAME')}: the shell sees the real value in the container's environment`,
            })
          }
        })
      }
    }
    const last = findings[findings.length - 1]
    if (last !== undefined && uncounted > 0) last.more = uncounted
    return findings
  },
})
