/**
 * Environment variables of a container as the kubelet builds them, and `$(VAR)` expansion of
 * command and args. Kubernetes expands only `$(VAR)`; `$$(VAR)` is an escaped literal; a
 * reference to an undefined variable is left as it is. Values that come from `valueFrom` or
 * `envFrom` cannot be known from the manifest: they are marked unknown, never guessed.
 */
import { RecentAnswers } from './recent.js'
import { checkDeadline } from './deadline.js'
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
  return recentEnvs.get(c, containerPath, undefined, undefined, computeEnv)
}

function computeEnv(c: Container, containerPath: string): ContainerEnv {
  const vars = new Map<string, EnvEntry>()
  const envFrom = c.envFrom ?? []
  const room = expansionRoom()
  // envFrom is applied first and its names are unknown here; explicit env entries override it.
  ;(c.env ?? []).forEach((e, i) => {
    checkDeadline()
    if (e.name === undefined) return
    const path = `${containerPath}.env[${i}]`
    if (e.valueFrom !== undefined) {
      const vf = e.valueFrom
      const from = vf.configMapKeyRef ? 'configMapKeyRef' : vf.secretKeyRef ? 'secretKeyRef' : vf.fieldRef ? 'fieldRef' : 'resourceFieldRef'
      vars.set(e.name, { name: e.name, value: undefined, path, from })
      return
    }
    vars.set(e.name, { name: e.name, value: expand(e.value ?? '', vars, room).text, path })
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

/**
 * How much longer than what was written expansion may make the texts of one container, in
 * characters. Each variable can reference the one before it many times, so a few hundred bytes
 * of env can expand to gigabytes; past this, references are left unexpanded and counted as
 * unknown (what the kubelet would make of them cannot be told cheaply, so it is not guessed).
 */
export const MAX_EXPANSION_GROWTH = 1 << 20

/** A growth allowance shared by the expansions of one container. */
export interface ExpansionRoom {
  left: number
}

export function expansionRoom(): ExpansionRoom {
  return { left: MAX_EXPANSION_GROWTH }
}

/** Expands `$(VAR)` the way the kubelet does; linear in the text, growth bounded by `room`. */
export function expand(text: string, vars: ReadonlyMap<string, EnvEntry>, room: ExpansionRoom = expansionRoom()): Expansion {
  const undefinedRefs: string[] = []
  const unknownRefs: string[] = []
  const parts: string[] = []
  // Plain text is copied in slices from `from` up to the next `$`.
  let from = 0
  let i = text.indexOf('$')
  while (i >= 0 && i < text.length) {
    checkDeadline()
    const next = text[i + 1]
    if (next === '$') {
      parts.push(text.slice(from, i + 1))
      from = i + 2
      i = text.indexOf('$', from)
      continue
    }
    if (next === '(') {
      const close = text.indexOf(')', i + 2)
      if (close > 0) {
        const name = text.slice(i + 2, close)
        const entry = vars.get(name)
        parts.push(text.slice(from, i))
        const written = close + 1 - i
        if (entry === undefined) {
          undefinedRefs.push(name)
          parts.push(text.slice(i, close + 1))
        } else if (entry.value === undefined || entry.value.length - written > room.left) {
          unknownRefs.push(name)
          parts.push(text.slice(i, close + 1))
        } else {
          room.left -= Math.max(0, entry.value.length - written)
          parts.push(entry.value)
        }
        from = close + 1
        i = text.indexOf('$', from)
        continue
      }
    }
    i = text.indexOf('$', i + 1)
  }
  if (from === 0 && parts.length === 0) return { text, undefinedRefs, unknownRefs }
  parts.push(text.slice(from))
  return { text: parts.join(''), undefinedRefs, unknownRefs }
}
