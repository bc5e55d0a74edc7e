import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { ENV_NAME, UPPER_ENV_NAME, argPath, execArgvs, isServiceLinkName, kubeRefs, processEnv, shellInvocation } from '../engine/command.js'
import type { EnvVar } from '../engine/k8s.js'

function lastEntry(env: readonly EnvVar[] | undefined, name: string): EnvVar | undefined {
  let found: EnvVar | undefined
  for (const e of env ?? []) if (e.name === name) found = e
  return found
}

function refsOf(names: readonly string[]): string {
  return names.map((n) => `$(${n})`).join(', ')
}

function viaShell(name: string): string {
  return `["sh", "-c", "… $${name} …"]`
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0] ?? 0
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = row[j] ?? 0
      row[j] = Math.min(up + 1, (row[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return row[b.length] ?? 0
}

/** A defined name close enough to be the one meant (a typo), for the fix. */
function nearName(name: string, defined: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestD = Math.max(1, Math.min(2, Math.floor(name.length / 4)))
  for (const d of defined) {
    const dist = distance(name.toUpperCase(), d.toUpperCase())
    if (dist <= bestD && d !== name) {
      best = d
      bestD = dist
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
    for (const c of pod.containers) {
      const argvs = execArgvs(c)
      if (!argvs.some((e) => e.argv.some((w) => w.includes('$(')))) continue
      const env = processEnv(c)
      for (const e of argvs) {
        if (e.expansion === 'full' && env.hasEnvFrom) continue
        const sh = shellInvocation(e.argv)
        const scriptIndex = sh?.mode === 'command' ? sh.scriptIndex : -1
        e.argv.forEach((word, i) => {
          if (!word.includes('$(')) return
          const inScript = i === scriptIndex
          const missing: string[] = []
          const emptied: string[] = []
          for (const ref of kubeRefs(word)) {
            const name = ref.name
            if (!(inScript ? UPPER_ENV_NAME : ENV_NAME).test(name) || missing.includes(name) || emptied.includes(name)) continue
            if (e.expansion === 'full') {
              if (env.vars.has(name) || isServiceLinkName(name)) continue
            } else if (e.expansion === 'static') {
              const entry = lastEntry(c.spec.env, name)
              if (entry !== undefined && entry.valueFrom === undefined) continue
              if (entry !== undefined) {
                emptied.push(name)
                continue
              }
            }
            missing.push(name)
          }
          const path = argPath(e, i)
          const field = path.slice(path.lastIndexOf('.') + 1)
          if (missing.length > 0) {
            const first = missing[0] ?? ''
            const literally = inScript ? `the shell runs ${first} as a command and gets nothing` : 'the program gets the literal text'
            let message: string
            let fix: string
            const near = nearName(first, env.vars.keys())
            const meant = near !== undefined ? ` (did you mean ${near}?)` : ''
            if (e.expansion === 'full') {
              message = `container "${c.name}": ${refsOf(missing)} in ${field} is not defined in env${meant}, so Kubernetes leaves it and ${literally}`
              fix = inScript
                ? `define ${missing.join(', ')} in the env of container "${c.name}" or fix the name; in the script, $${first} reads the variable at run time`
                : `define ${missing.join(', ')} in the env of container "${c.name}" or fix the name; write $$(NAME) if the literal text is meant`
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
          if (emptied.length > 0) {
            findings.push({
              path,
              container: c.name,
              message: `container "${c.name}": ${refsOf(emptied)} in the ${e.label} is set by valueFrom, which exec probes expand to an empty string`,
              fix: inScript
                ? `write $${emptied[0] ?? 'NAME'} instead of $(${emptied[0] ?? 'NAME'}) in the script: the shell sees the real value in the container's environment`
                : `read it through a shell, e.g. ${viaShell(emptied[0] ?? 'NAME')}: the shell sees the real value in the container's environment`,
            })
          }
        })
      }
    }
    return findings
  },
})
