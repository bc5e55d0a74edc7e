/**
 * Environment variables of a container as the kubelet builds them, and `$(VAR)` expansion of
 * command and args. Kubernetes expands only `$(VAR)`; `$$(VAR)` is an escaped literal; a
 * reference to an undefined variable is left as it is. Values that come from `valueFrom` or
 * `envFrom` cannot be known from the manifest: they are marked unknown, never guessed.
 */
import { RecentAnswers } from './recent.js'
import type { Container } from './k8s.js'

export interface EnvEntry {
  name: string
  /** The value after expansion of references to earlier variables; undefined when unknowable. */
  value: string | undefined
  /** Path of the entry, e.g. `spec.containers[0].env[2]`. */
  path: string
  /** Where the value comes from when it is not literal. */
  from?: 'configMapKeyRef' | 'secretKeyRef' | 'fieldRef' | 'resourceFieldRef' | 'envFrom'
}

export interface ContainerEnv {
  /** Variables by name; later definitions win, as in the kubelet. */
  vars: Map<string, EnvEntry>
  /** True when envFrom may define variables we cannot see (names unknown without the cluster). */
  hasEnvFrom: boolean
}

/**
 * The environments of the containers seen last: the rules of one evaluation (and the heap
 * analysis) ask for the same container objects one after the other. Results are shared: do not
 * mutate them.
 */
const recentEnvs = new RecentAnswers<Container, string, undefined, ContainerEnv>(32)

export function containerEnv(c: Container, containerPath: string): ContainerEnv {
  return recentEnvs.get(c, containerPath, undefined, () => computeEnv(c, containerPath))
}

function computeEnv(c: Container, containerPath: string): ContainerEnv {
  const vars = new Map<string, EnvEntry>()
  const envFrom = c.envFrom ?? []
  // envFrom is applied first and its names are unknown here; explicit env entries override it.
  ;(c.env ?? []).forEach((e, i) => {
    if (e.name === undefined) return
    const path = `${containerPath}.env[${i}]`
    if (e.valueFrom !== undefined) {
      const vf = e.valueFrom
      const from = vf.configMapKeyRef ? 'configMapKeyRef' : vf.secretKeyRef ? 'secretKeyRef' : vf.fieldRef ? 'fieldRef' : 'resourceFieldRef'
      vars.set(e.name, { name: e.name, value: undefined, path, from })
      return
    }
    vars.set(e.name, { name: e.name, value: expand(e.value ?? '', vars).text, path })
  })
  return { vars, hasEnvFrom: envFrom.length > 0 }
}

export interface Expansion {
  text: string
  /** Names referenced with `$(NAME)` that no env entry defines. */
  undefinedRefs: string[]
  /** Names referenced whose value cannot be known (valueFrom, envFrom). */
  unknownRefs: string[]
}

/** Expands `$(VAR)` the way the kubelet does. */
export function expand(text: string, vars: ReadonlyMap<string, EnvEntry>): Expansion {
  const undefinedRefs: string[] = []
  const unknownRefs: string[] = []
  let out = ''
  let i = 0
  while (i < text.length) {
    const ch = text[i]
    if (ch === '$' && text[i + 1] === '$') {
      out += '$'
      i += 2
      continue
    }
    if (ch === '$' && text[i + 1] === '(') {
      const close = text.indexOf(')', i + 2)
      if (close > 0) {
        const name = text.slice(i + 2, close)
        const entry = vars.get(name)
        if (entry === undefined) {
          undefinedRefs.push(name)
          out += text.slice(i, close + 1)
        } else if (entry.value === undefined) {
          unknownRefs.push(name)
          out += text.slice(i, close + 1)
        } else {
          out += entry.value
        }
        i = close + 1
        continue
      }
    }
    out += ch
    i++
  }
  return { text: out, undefinedRefs, unknownRefs }
}
