import { analyze } from './analyze.js'
import { looksLikeDescribe, parseDescribe } from './describe.js'
import { looksLikeEventsText, parseEventsText, UNKNOWN_NAMESPACE, UNKNOWN_POD } from './events-text.js'
import type { ExplainedPod } from './format.js'
import { EVENTS_ONLY_EVIDENCE, podsFromEvents } from './from-events.js'
import { assemble, type LogInput, type PodInput, type SourcedValue } from './input.js'
import { withLog } from './log-signatures.js'
import { parseDocuments } from '../input/documents.js'

/**
 * What `explain` does with the texts it is given, whatever people paste: YAML or JSON from
 * `kubectl get -o`, the text of `kubectl describe pod` (whole, cut with `[...]`, several pods in
 * one file), the Events section alone, or a `kubectl get events` table. Text that is plainly
 * kubectl output is never handed to the YAML parser. The CLI and the conformance runner share it.
 */

export interface ExplainInputs {
  values: SourcedValue[]
  /** Pods already paired with their events (describe text). */
  pods: PodInput[]
  /** Events read from text, with no pod of their own. */
  textEvents: { file: string; events: unknown[]; form: string; elided: boolean }[]
  errors: string[]
  /** Container logs given apart from the pod (`--logs FILE`): they belong to the one pod of the input. */
  logs?: LogInput[]
  /** Said on standard error without failing the run (a log that had nothing to explain). */
  warnings?: string[]
}

export function emptyInputs(): ExplainInputs {
  return { values: [], pods: [], textEvents: [], errors: [] }
}

/** The JSON parser's complaint, for text that looks like JSON; undefined when it parses or is not JSON. */
function invalidJson(text: string): string | undefined {
  const start = text.trimStart()[0]
  if (start !== '{' && start !== '[') return undefined
  try {
    JSON.parse(text)
    return undefined
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}

/** A parse error on the last lines usually means a paste or a file that lost its end. */
function cutShort(text: string, errors: readonly { line?: number }[]): boolean {
  if (errors.length === 0) return false
  const lines = text.replace(/\s+$/, '').split('\n').length
  return errors.some((e) => e.line === undefined || e.line >= lines - 1) || /Unexpected end of JSON input/.test(String(invalidJson(text)))
}

/** kubectl's human output that is neither a pod's describe nor events: named, so no YAML error is shown for it. */
function otherKubectlText(text: string): string | undefined {
  const first = text.split('\n').find((l) => l.trim() !== '' && !/^\s*\$\s/.test(l))?.trim() ?? ''
  if (/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/.test(first)) return '`kubectl get pods` table (it shows the status only, not why)'
  if (/^NAME\s+(READY\s+UP-TO-DATE|DESIRED|STATUS\s+ROLES|TYPE\s+CLUSTER-IP|COMPLETIONS|SCHEDULE)/.test(first)) return `\`kubectl get\` table (${first.split(/\s{2,}/).slice(0, 4).join(', ')})`
  if (/^\s*(State|Last State):\s+(Waiting|Running|Terminated)/m.test(text) && /^\s*(Restart Count|Exit Code|Reason):\s/m.test(text)) return 'part of a `kubectl describe pod` without its Containers heading'
  return undefined
}

/** Reads one text (a file or standard input) into `into`. */
export function readExplainText(text: string, file: string, now: Date, into: ExplainInputs): void {
  if (text.trim() === '') {
    into.errors.push(`${file}: empty input`)
    return
  }
  if (looksLikeDescribe(text)) {
    const parsed = parseDescribe(text, now)
    if (!parsed.ok) {
      into.errors.push(`${file}: ${parsed.error}`)
      return
    }
    for (const p of parsed.pods) {
      if (p.pod !== undefined) {
        into.pods.push({ file, pod: p.pod, events: p.events, partialSpec: true, ...(p.unseen.length > 0 ? { unseen: p.unseen } : {}) })
        continue
      }
      for (const e of podsFromEvents(p.events)) into.pods.push({ file, pod: e.pod, events: e.events, partialSpec: true, eventsOnly: true, unseen: p.unseen })
    }
    return
  }
  if (looksLikeEventsText(text)) {
    const parsed = parseEventsText(text, now)
    if (parsed === undefined || parsed.events.length === 0) {
      into.errors.push(`${file}: an events listing with no event rows that could be read`)
      return
    }
    into.textEvents.push({ file, events: parsed.events, form: parsed.form, elided: parsed.elided })
    return
  }
  const jsonError = invalidJson(text)
  const r = parseDocuments(text, file)
  if (r.errors.length > 0) {
    const kubectlText = jsonError === undefined ? otherKubectlText(text) : undefined
    if (kubectlText !== undefined) {
      into.errors.push(`${file}: this is ${kubectlText}, which \`explain\` cannot diagnose: give \`kubectl describe pod NAME\`, its Events section, \`kubectl get events\`, or \`kubectl get pod NAME -o yaml\``)
      return
    }
  }
  if (jsonError !== undefined && r.errors.length > 0) {
    into.errors.push(`${file}: not valid JSON: ${jsonError}${cutShort(text, r.errors) ? ' (the input seems cut short)' : ''}`)
    return
  }
  const truncated = cutShort(text, r.errors)
  for (const e of r.errors) into.errors.push(`${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}${truncated ? ' (the input seems cut short)' : ''}`)
  const before = into.values.length
  for (const d of r.documents) into.values.push({ value: d.value, file, ...(d.source.line !== undefined ? { line: d.source.line } : {}) })
  if (r.errors.length === 0 && into.values.length === before) into.errors.push(`${file}: no Kubernetes objects in this input`)
}

const EVENTS_ONLY_UNSEEN = 'the pod itself: only events were given, so no container states, exit codes, restart counts or spec'

/** Pairs pods with events across all texts, analyses every pod, and says what the input did not show. */
export function explainInputs(inputs: ExplainInputs, now: Date): { results: ExplainedPod[]; errors: string[]; warnings: string[] } {
  const errors = [...inputs.errors]
  const warnings = [...(inputs.warnings ?? [])]
  const textEventValues: SourcedValue[] = inputs.textEvents.flatMap((t) => t.events.map((value) => ({ value, file: t.file })))
  const assembled = assemble([...inputs.values, ...textEventValues])
  const pods: PodInput[] = [...assembled.pods, ...inputs.pods]
  if (assembled.pods.length === 0) {
    // No Pod object anywhere: events (YAML or text) are all there is; one block per pod they name.
    const eventValues = [...inputs.values, ...textEventValues].filter((v) => (v.value as { kind?: unknown } | null)?.kind === 'Event')
    if (eventValues.length > 0) {
      const elided = inputs.textEvents.some((t) => t.elided)
      for (const e of podsFromEvents(eventValues.map((v) => v.value))) {
        const unseen = [EVENTS_ONLY_UNSEEN]
        if (elided) unseen.push('parts of the events, cut out ([...])')
        const name = (e.pod['metadata'] as { name?: string; namespace?: string }) ?? {}
        if (name.name === UNKNOWN_POD || name.namespace === UNKNOWN_NAMESPACE) unseen.push(`the pod's ${name.name === UNKNOWN_POD ? 'name and ' : ''}namespace: replace ${name.name === UNKNOWN_POD ? 'POD and ' : ''}NAMESPACE in the commands`)
        pods.push({ file: eventValues[0]?.file ?? '', pod: e.pod, events: e.events, partialSpec: true, eventsOnly: true, unseen })
      }
    } else if (inputs.pods.length === 0) {
      for (const p of assembled.problems) errors.push(`${p.file}: ${p.message}`)
    }
  }
  const results: ExplainedPod[] = []
  const looseLogs = inputs.logs ?? []
  if (looseLogs.length > 0 && pods.length !== 1) {
    errors.push(`--logs belongs to one pod, and the input holds ${pods.length === 0 ? 'none' : pods.length}: give one pod's describe or YAML with its log`)
    return { results, errors, warnings }
  }
  for (const input of pods) {
    const analysis = analyze({
      pod: input.pod,
      events: input.events,
      now,
      ...(input.owner ? { owner: input.owner } : {}),
      ...(input.partialSpec ? { partialSpec: true } : {}),
    })
    if (!analysis.ok) {
      errors.push(`${input.file}${input.line !== undefined ? `:${input.line}` : ''}: ${analysis.error}`)
      continue
    }
    let diagnoses = analysis.diagnoses
    const unseen = [...(input.unseen ?? [])]
    for (const log of [...looseLogs, ...(input.logs ?? [])]) {
      const applied = withLog(input.pod, diagnoses, log)
      if ('error' in applied) errors.push(applied.error)
      else {
        diagnoses = applied.diagnoses
        if (applied.warning !== undefined) warnings.push(applied.warning)
      }
    }
    if (input.eventsOnly) {
      // The rebuilt pod is a reading of the events, not evidence of its own.
      diagnoses = diagnoses.map((d) => ({ ...d, evidence: d.evidence.filter((e) => !EVENTS_ONLY_EVIDENCE.test(e)) }))
    } else if (input.events.length === 0 && diagnoses.length > 0 && !input.partialSpec) {
      unseen.push(`the pod's events: add \`kubectl get events -n ${analysis.pod.namespace} -o yaml\` for more evidence`)
    }
    const result: ExplainedPod = { pod: analysis.pod, status: input.eventsOnly ? 'status not in the input' : analysis.status, diagnoses }
    if (unseen.length > 0) result.unseen = unseen
    results.push(result)
  }
  return { results, errors, warnings }
}
