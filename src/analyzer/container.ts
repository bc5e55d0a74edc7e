import { formatPath, type PathSegment } from '../input/field-path.js'
import type { CauseId } from './causes.js'
import { ago, at, containerEvents, eventLine, isLongRunningContainer, iso, kubectl, type Ctx } from './context.js'
import type { EventView } from './events.js'
import { normalizeExitCode, signalMeaning, signalName, signalOfExit } from './exit-codes.js'
import { effectiveHeap, formatBytes, heapSettings, parseQuantity, suspiciousMemory } from './memory.js'
import { classifyPullMessage, classifyStartMessage, parseMissingConfig } from './messages.js'
import { graceSeconds, type ContainerView, type TerminatedView } from './pod.js'
import {
  backgroundedBy,
  executable,
  forbiddenMount,
  isBareOsImage,
  isPublicRegistry,
  isShell,
  livenessRule,
  preStopSeconds,
  probePortUndeclared,
  probeSettings,
  registryOf,
  shellSyntaxWithoutShell,
  undefinedEnvReferences,
} from './spec-hints.js'
import type { Diagnosis } from './types.js'

/** Waiting reasons that mean the container cannot run; PodInitializing and ContainerCreating are progress. */
export const FAILURE_WAITING_REASONS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ImageInspectError',
  'ErrImageNeverPull',
  'RegistryUnavailable',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'StartError',
  'PreStartHookError',
  'PostStartHookError',
  'PreCreateHookError',
])

const MAX_EVENT_LINES = 3

function quoteName(c: ContainerView): string {
  return `${c.kind === 'init' ? 'Init container' : c.kind === 'ephemeral' ? 'Ephemeral container' : 'Container'} "${c.name}"`
}

interface Builder {
  d: Diagnosis
}

function diag(cause: CauseId, c: ContainerView, summary: string): Builder {
  return { d: { cause, container: c.name, summary, evidence: [], next: [] } }
}

function withEvents(ctx: Ctx, d: Diagnosis, events: readonly EventView[]): void {
  for (const e of events.slice(0, MAX_EVENT_LINES)) d.evidence.push(eventLine(ctx, e))
}

function p(c: ContainerView, ...rest: PathSegment[]): PathSegment[] {
  return [...c.path, ...rest]
}

function commandEvidence(c: ContainerView): string[] {
  const out: string[] = []
  if (c.command.length > 0) out.push(at(p(c, 'command'), c.command))
  if (c.args.length > 0) out.push(at(p(c, 'args'), c.args))
  if (out.length === 0) out.push(`${formatPath(p(c))}: no command or args, so the image's own ENTRYPOINT/CMD runs (image ${c.image})`)
  return out
}

/** Where the last or current termination sits, and how the container got there. */
interface TerminationSite {
  term: TerminatedView
  path: PathSegment[]
  /** lastState: the container has been restarted since; logs need --previous. */
  previous: boolean
  crashLoop: boolean
}

function restartPhrase(c: ContainerView, site: TerminationSite): string {
  const n = c.status?.restartCount ?? 0
  if (site.crashLoop) return ` It has restarted ${n} time${n === 1 ? '' : 's'} and is in CrashLoopBackOff.`
  if (site.previous && c.status?.state.running) return ` It has restarted ${n} time${n === 1 ? '' : 's'} and is running again.`
  return ''
}

function lifetime(t: TerminatedView): string | undefined {
  // A process that never started is reported with a zero start time (1970-01-01).
  if (t.startedAt === undefined || t.finishedAt === undefined || t.startedAt.getTime() <= 0) return undefined
  const s = Math.round((t.finishedAt.getTime() - t.startedAt.getTime()) / 1000)
  if (s < 0) return undefined
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`
}

/**
 * Whether the process of this termination ever ran. A runtime that could not start it says so
 * with StartError / ContainerCannotRun and a zero start time (1970-01-01); a real start time, or
 * Started events when the time is missing, mean the program ran and chose its exit code.
 */
function processStarted(events: readonly EventView[], term: TerminatedView): boolean | undefined {
  if (term.reason === 'StartError' || term.reason === 'ContainerCannotRun') return false
  if (term.startedAt !== undefined) return term.startedAt.getTime() > 0
  if (events.some((e) => e.reason === 'Started')) return true
  return undefined
}

/** Events that tell of the node or its runtime restarting under the pod, newest first. */
function nodeRestartEvents(ctx: Ctx): EventView[] {
  const onPod = ctx.events.filter((e) => e.reason === 'NodeNotReady' || e.reason === 'SandboxChanged')
  const onNode = ctx.nodeEvents.filter((e) => e.reason === 'NodeNotReady' || e.reason === 'Rebooted' || (e.reason === 'Starting' && /kubelet/i.test(e.message)))
  return [...onPod, ...onNode]
}

function livenessEvents(events: readonly EventView[]): EventView[] {
  return events.filter(
    (e) =>
      (e.reason === 'Unhealthy' && /^(Liveness|Startup) probe/i.test(e.message)) ||
      (e.reason === 'Killing' && /failed (liveness|startup) probe|is unhealthy, it will be killed/i.test(e.message)),
  )
}

function preStopFailures(events: readonly EventView[]): EventView[] {
  return events.filter((e) => e.reason === 'FailedPreStopHook')
}

function postStartFailures(events: readonly EventView[]): EventView[] {
  return events.filter((e) => e.reason === 'FailedPostStartHook')
}

/** Explains one termination (the current state, or the last one before a restart). */
function explainTermination(ctx: Ctx, c: ContainerView, site: TerminationSite): Diagnosis | undefined {
  const { term } = site
  const raw = term.exitCode
  const code = normalizeExitCode(raw)
  const events = containerEvents(ctx, c)
  const termPath = site.path
  const base: string[] = []
  base.push(at([...termPath, 'exitCode'], raw) + (raw !== code ? ` (as an exit status: ${code})` : ''))
  if (term.reason) base.push(at([...termPath, 'reason'], term.reason))
  if (term.message) base.push(at([...termPath, 'message'], term.message.trim()))
  if (term.signal !== undefined) base.push(at([...termPath, 'signal'], term.signal))
  const ran = lifetime(term)
  if (ran !== undefined) base.push(`ran for ${ran} (${iso(term.startedAt)} to ${iso(term.finishedAt)})`)
  if (site.previous || site.crashLoop) base.push(at([...(c.status?.path ?? []), 'restartCount'], c.status?.restartCount ?? 0))
  const logs = kubectl.logs(ctx, c, site.previous)
  const again = restartPhrase(c, site)
  const who = quoteName(c)
  const codeText = raw !== code ? `exit code ${raw}, exit status ${code}` : `exit code ${code}`
  const sigFromCode = signalOfExit(code)
  const sigName = sigFromCode?.name ?? (term.signal !== undefined ? signalName(term.signal) : undefined)
  const finish = (b: Builder): Diagnosis => {
    b.d.exitCode = code
    if (sigName !== undefined) b.d.signal = sigName
    b.d.evidence.unshift(...base)
    return b.d
  }

  // 1. The kernel's OOM killer, whatever the code says.
  if (term.reason === 'OOMKilled') return finish(oomKilled(ctx, c, codeText, again, logs))

  // 2. A failed postStart hook kills the container; the exit code is only a consequence.
  const postStart = postStartFailures(events)
  if (postStart.length > 0 && code !== 0) {
    const b = diag('hook-failed', c, `${who} was killed because its postStart hook failed (${codeText}).${again}`)
    hookDetails(ctx, c, b, c.postStart, postStart, logs)
    return finish(b)
  }

  // 3. The container ended with its node or runtime, not by its own exit.
  if (term.reason === 'Unknown') return finish(containerLost(ctx, c, codeText, again, logs))

  // 4. The runtime could not start the process at all.
  const started = processStarted(events, term)
  const startMessage = term.message ?? ''
  const start = classifyStartMessage(startMessage)
  if (start !== undefined && (started === false || (code >= 126 && code <= 128))) {
    return finish(startFailure(ctx, c, start.cause, start.executable, `${codeText}${term.reason ? `, ${term.reason}` : ''}`, again, started))
  }
  // A status above 125 from a process that never ran is the runtime's, not a signal or a choice.
  if (code !== 125 && (term.reason === 'StartError' || term.reason === 'ContainerCannotRun' || (started === false && code >= 128 && code !== 137))) {
    const b = diag('container-create-failed', c, `${who} could not be started by the container runtime (${term.reason}, ${codeText}).${again}`)
    b.d.next.push(kubectl.describePod(ctx), 'Read the runtime message above: it names what the runtime refused (a mount, a device, a security setting).')
    const mount = forbiddenMount(c)
    if (mount !== undefined) b.d.preventedBy = 'mount-path-forbidden'
    return finish(b)
  }

  if (code === 0) {
    if (isLongRunningContainer(ctx, c)) {
      const b = diag(
        'exit-no-foreground-process',
        c,
        `${who} exited with code 0 although it is meant to keep running (${c.kind === 'init' ? 'a sidecar' : `restartPolicy ${ctx.pod.restartPolicy ?? 'Always'}${ctx.owner ? `, owned by ${ctx.owner.kind} ${ctx.owner.name}` : ''}`}): its command finished, so nothing runs in the foreground.${again}`,
      )
      b.d.evidence.push(...commandEvidence(c))
      const bg = backgroundedBy(c)
      if (c.command.length === 0 && c.args.length === 0 && isBareOsImage(c.image)) {
        b.d.preventedBy = 'command-missing'
        b.d.evidence.push(`${c.image} is a base OS image: its default command is a shell, which exits at once without a terminal`)
      } else if (bg !== undefined) {
        b.d.preventedBy = 'command-backgrounded'
        b.d.evidence.push(bg)
      }
      b.d.next.push(
        logs,
        bg !== undefined
          ? 'Run the main process in the foreground (e.g. `catalina.sh run`, `nginx -g "daemon off;"`, no trailing & or nohup), so the container lives as long as it does.'
          : 'Give the container a command that keeps running (the server itself, in the foreground); if the work is meant to finish, run it as a Job instead.',
      )
      return finish(b)
    }
    if (c.kind === 'init') return undefined // an init container that finished did its job
    const b = diag('completed', c, `${who} completed successfully (exit code 0).`)
    b.d.next.push(logs, 'Nothing to fix: exit 0 is the expected end of this workload.')
    return finish(b)
  }

  if (code === 137 || code === 143) {
    const liveness = livenessEvents(events)
    if (liveness.length > 0) return finish(livenessKilled(ctx, c, codeText, again, liveness, logs))
  }

  // 4. A failed preStop hook: cut off by the grace period, or failing on its own.
  const preStopFailed = preStopFailures(events)
  if (preStopFailed.length > 0) {
    if (preStopFailed.some((e) => /exited with 137|signal: killed|grace period|deadline exceeded|timeout/i.test(e.message))) {
      return finish(graceExceeded(ctx, c, codeText, again, preStopFailed, logs))
    }
    const b = diag('hook-failed', c, `${who} had a failing preStop hook when it was stopped (${codeText}), so it shut down without the clean-up the hook should do.${again}`)
    hookDetails(ctx, c, b, c.preStop, preStopFailed, logs)
    return finish(b)
  }

  if (code === 137 || code === 143) {
    if (code === 137) {
      // SIGKILL after a requested stop: the pod is being deleted, or the kubelet said it stopped it.
      const stopping = events.filter((e) => e.reason === 'Killing' && /Stopping container/i.test(e.message))
      const exceeded = events.filter((e) => e.reason === 'ExceededGracePeriod')
      if (ctx.pod.deletionTimestamp !== undefined || stopping.length > 0 || exceeded.length > 0) {
        return finish(graceExceeded(ctx, c, codeText, again, [...exceeded, ...stopping], logs))
      }
      if (term.reason === 'ContainerStatusUnknown') {
        const b = diag('killed', c, `${who} was lost: the kubelet could not find it any more and recorded it as killed (${codeText}, ContainerStatusUnknown), usually after the node or its container runtime failed or the pod was evicted.`)
        b.d.next.push(kubectl.describePod(ctx))
        if (ctx.pod.nodeName) b.d.next.push(kubectl.describeNode(ctx.pod.nodeName))
        return finish(b)
      }
      const b = diag('killed', c, `${who} was killed with SIGKILL (${codeText}) and nothing in the input says by whom: not the OOM killer (reason is not OOMKilled), no liveness failures, no deletion.${again}`)
      b.d.next.push(
        logs,
        kubectl.describePod(ctx),
        ...(ctx.pod.nodeName ? [kubectl.describeNode(ctx.pod.nodeName)] : []),
        'Check the node for a kernel OOM kill of a child process (`dmesg -T | grep -i kill` on the node) and for anyone running `kill -9` or `docker kill`/`crictl stop` on it.',
      )
      return finish(b)
    }
    const b = diag('terminated', c, `${who} stopped on SIGTERM (${codeText}): a normal, requested stop such as a deletion, a rollout or a scale-down.${again}`)
    b.d.next.push(logs, kubectl.events(ctx), 'Usually nothing to fix. If nobody asked it to stop, look for what deleted or restarted it (rollouts, node drains, autoscalers).')
    return finish(b)
  }

  const sig = signalOfExit(code)
  if (code === 134) {
    const b = diag('aborted', c, `${who} aborted itself with SIGABRT (${codeText}): abort() was called or an assertion failed.${again}`)
    b.d.next.push(logs, 'The last log lines usually show the failed assertion or the fatal error that led to abort(); a JVM or glibc may also have printed a crash report.')
    return finish(b)
  }
  if (code === 139) {
    const b = diag('segfault', c, `${who} crashed with a segmentation fault (SIGSEGV, ${codeText}): it accessed memory it may not.${again}`)
    b.d.next.push(logs, 'Look for a native library built for another libc or CPU (alpine/musl vs glibc), a bad native extension, or a stack overflow; reproduce with the same image locally.')
    return finish(b)
  }
  if (sig !== undefined) {
    const meaning = signalMeaning(sig.name)
    const b = diag('signal', c, `${who} was killed by ${sig.name} (signal ${sig.number}${meaning ? `: ${meaning}` : ''}; ${codeText}).${again}`)
    b.d.next.push(logs, kubectl.events(ctx))
    return finish(b)
  }
  if (code === 255) {
    const b = diag('exit-out-of-range', c, `${who} exited with status 255${raw !== code ? ` (the runtime reported ${raw})` : ''}: usually exit(-1) or an error the program could not classify.${again}`)
    b.d.next.push(logs, 'The program chose this code: its last log lines say why.')
    return finish(b)
  }
  if (code === 125 && started === true) {
    const b = diag('app-error', c, `${who} exited with code 125 after it had started${ran !== undefined ? ` and run for ${ran}` : ''}: the program (or its script) chose that code; the runtime did start it.${again}`)
    if (ran === undefined) b.d.evidence.push(term.startedAt !== undefined && term.startedAt.getTime() > 0 ? at([...termPath, 'startedAt'], iso(term.startedAt)) : 'event Started: the runtime started the container')
    b.d.evidence.push(...commandEvidence(c))
    shellHints(c, b)
    b.d.next.push(logs, 'Find where the program or its script exits with 125 (e.g. `exit 125`) and what it reports just before.')
    return finish(b)
  }
  if (code === 125) {
    const b = diag('container-runtime-failed', c, `${who} could not be run by the container runtime (${codeText}).${again}`)
    b.d.next.push(kubectl.describePod(ctx), ...(ctx.pod.nodeName ? [kubectl.describeNode(ctx.pod.nodeName)] : []), 'Check the runtime on the node (containerd/CRI-O logs) and that the image suits the node (architecture, OS).')
    return finish(b)
  }
  if (code === 126) return finish(startFailure(ctx, c, 'command-not-executable', undefined, codeText, again, started))
  if (code === 127) return finish(startFailure(ctx, c, 'command-not-found', undefined, codeText, again, started))
  if (code === 128) {
    const b = diag('invalid-exit-code', c, `${who} exited with status 128${raw !== code ? ` (the runtime reported ${raw})` : ''} and no start error: it called exit with an invalid argument (not an integer from 0 to 255).${again}`)
    b.d.next.push(logs, 'Find where the program calls exit() and pass an integer from 0 to 255.')
    return finish(b)
  }
  if (code === 2) {
    const b = diag('shell-misuse', c, `${who} exited with code 2${raw !== code ? ` (the runtime reported ${raw})` : ''}: a shell or the program rejected its arguments (syntax error, unknown option).${again}`)
    b.d.evidence.push(...commandEvidence(c))
    shellHints(c, b)
    b.d.next.push(logs, 'Run the same command in the image locally (`docker run --rm -it --entrypoint sh IMAGE`) and check its arguments.')
    return finish(b)
  }
  const b = diag('app-error', c, `${who} exited with code ${code}${raw !== code ? ` (reported as ${raw})` : ''}: the program stopped on an error of its own.${again}`)
  shellHints(c, b)
  b.d.next.push(logs, 'The reason is in the application log: a missing setting, an unreachable dependency, a bad file path in the command.')
  return finish(b)
}

/** The script of `sh -c SCRIPT` (command or args), if the container runs one. */
function shellScript(c: ContainerView): string | undefined {
  const all = [...c.command, ...c.args]
  const i = all.findIndex((a) => /^-[a-z]*c[a-z]*$/.test(a))
  return i >= 0 ? all[i + 1] : undefined
}

/** `kubectl port-forward` to a probe port; a named port is looked up, as kubectl needs a local number. */
function portForward(ctx: Ctx, c: ContainerView, port: string | number): string {
  const number = typeof port === 'number' ? port : c.ports.find((p) => p.name === port)?.containerPort
  const pair = number !== undefined ? `${number}:${number}` : `8080:${port}`
  return `kubectl port-forward pod/${ctx.pod.name} -n ${ctx.pod.namespace} ${pair}`
}

function shellHints(c: ContainerView, b: Builder): void {
  const syntax = shellSyntaxWithoutShell(c)
  const refs = undefinedEnvReferences(c)
  if (syntax !== undefined) {
    b.d.preventedBy = 'command-shell-syntax-without-shell'
    b.d.evidence.push(`the argument ${JSON.stringify(syntax)} uses shell syntax, but no shell runs it: it is passed literally`)
  } else if (refs.length > 0) {
    b.d.preventedBy = 'command-env-reference-undefined'
    b.d.evidence.push(`$(${refs.join('), $(')}) in command/args is not defined in env, so it is passed literally`)
  }
}

function oomKilled(ctx: Ctx, c: ContainerView, codeText: string, again: string, logs: string): Builder {
  const who = quoteName(c)
  const limit = c.limits['memory']
  const limitBytes = limit !== undefined ? parseQuantity(limit) : undefined
  const heaps = heapSettings(c)
  let preventedBy: string | undefined
  let heapClause = ''
  const evidence: string[] = []
  if (limit !== undefined) evidence.push(at(p(c, 'resources', 'limits', 'memory'), limit))
  else evidence.push(`${formatPath(p(c, 'resources', 'limits'))}: no memory limit`)
  const request = c.requests['memory']
  if (request !== undefined) evidence.push(at(p(c, 'resources', 'requests', 'memory'), request))
  const suspicious = limit !== undefined ? suspiciousMemory(limit) : undefined
  if (suspicious !== undefined) {
    preventedBy = 'memory-quantity-suspicious'
    evidence.push(suspicious)
  }
  for (const h of heaps) {
    const eff = effectiveHeap(h, limitBytes)
    const vs = eff !== undefined && limitBytes !== undefined ? ` (heap ${formatBytes(eff)} vs limit ${formatBytes(limitBytes)})` : ''
    evidence.push(`${h.where}: ${h.flag}${vs}`)
    if (eff === undefined || limitBytes === undefined) continue
    const name = h.runtime === 'jvm' ? 'JVM' : h.runtime === 'node' ? 'Node.js' : h.runtime === 'go' ? 'Go' : '.NET'
    if (eff >= limitBytes) {
      preventedBy ??= h.runtime === 'jvm' ? 'jvm-heap-exceeds-memory-limit' : 'runtime-heap-exceeds-memory-limit'
      heapClause ||= `; the ${name} heap may grow to ${formatBytes(eff)} (${h.flag}), which is not below the limit`
    } else if (h.runtime === 'jvm' && (eff > 0.75 * limitBytes || (h.percent !== undefined && h.percent > 80))) {
      preventedBy ??= 'jvm-heap-no-headroom'
      heapClause ||= `; the JVM heap (${h.flag}, ${formatBytes(eff)}) leaves under 25% of the limit for metaspace, threads and buffers`
    }
  }
  let summary: string
  if (limit !== undefined) {
    summary = `${who} was OOM-killed (${codeText}): it used more memory than its ${limit} limit${heapClause}.${again}`
  } else {
    preventedBy ??= 'memory-limit-missing'
    summary = `${who} was OOM-killed (${codeText}) with no memory limit of its own: the node ran short of memory and the kernel chose it.${again}`
  }
  const b = diag('oom-killed', c, summary)
  b.d.evidence.push(...evidence)
  if (preventedBy !== undefined) b.d.preventedBy = preventedBy
  b.d.next.push(logs, `kubectl top pod ${ctx.pod.name} -n ${ctx.pod.namespace} --containers`)
  if (limit === undefined && ctx.pod.nodeName) b.d.next.push(kubectl.describeNode(ctx.pod.nodeName))
  if (heaps.some((h) => h.runtime === 'jvm')) {
    b.d.next.push('Keep the JVM heap at about 75% of the memory limit (e.g. -XX:MaxRAMPercentage=75 instead of a fixed -Xmx), or raise resources.limits.memory.')
  } else if (heaps.length > 0) {
    b.d.next.push('Set the runtime heap cap clearly below resources.limits.memory (about 75%), or raise the limit.')
  } else if (limit !== undefined) {
    b.d.next.push('Raise resources.limits.memory if the usage is expected; otherwise look for a leak (memory graph over time, heap profile).')
  } else {
    b.d.next.push('Set resources.requests.memory and resources.limits.memory (equal values give Guaranteed QoS, the last to be killed).')
  }
  return b
}

function containerLost(ctx: Ctx, c: ContainerView, codeText: string, again: string, logs: string): Builder {
  const who = quoteName(c)
  const restarts = nodeRestartEvents(ctx)
  const node = ctx.pod.nodeName
  const b = diag(
    'container-lost',
    c,
    `${who} did not exit by itself: it ended with reason Unknown (${codeText}) when ${restarts.length > 0 ? `its node${node ? ` ${node}` : ''} or container runtime restarted` : 'the container runtime lost it, as in a node reboot or a runtime restart'}; this is not an application failure.${again}`,
  )
  withEvents(ctx, b.d, restarts)
  if (restarts.length === 0) b.d.evidence.push('no node or sandbox events in the input: the restart is read from reason Unknown alone')
  if (node) b.d.next.push(kubectl.describeNode(node), `kubectl get events -A --field-selector involvedObject.kind=Node,involvedObject.name=${node}`)
  b.d.next.push(
    logs,
    'Nothing to fix in the application. Find why the node or its runtime restarted (reboot, upgrade, kubelet or containerd crash, memory pressure on the node), and run at least two replicas spread over nodes so one restart does not stop the service.',
  )
  return b
}

function livenessKilled(ctx: Ctx, c: ContainerView, codeText: string, again: string, events: EventView[], logs: string): Builder {
  const who = quoteName(c)
  const startup = events.some((e) => /startup probe/i.test(e.message)) && !events.some((e) => /liveness probe/i.test(e.message))
  const probe = startup ? c.startup : c.liveness
  const failures = events.filter((e) => e.reason === 'Unhealthy').reduce((n, e) => n + e.count, 0)
  const b = diag(
    'liveness-probe-killed',
    c,
    `${who} was restarted by the kubelet because its ${startup ? 'startup' : 'liveness'} probe failed (${failures > 0 ? `${failures} failures seen, ` : ''}${codeText}).${again}`,
  )
  if (probe) b.d.evidence.push(at(probe.path, probeSettings(probe)))
  withEvents(ctx, b.d, events)
  const undeclared = probe && !(ctx.partialSpec && typeof probe.port === 'string') ? probePortUndeclared(c, probe) : undefined
  const rule = startup ? undefined : livenessRule(c)
  if (undeclared !== undefined) {
    b.d.preventedBy = 'probe-port-undeclared'
    b.d.evidence.push(undeclared)
  } else if (rule !== undefined) {
    b.d.preventedBy = rule.rule
    b.d.evidence.push(rule.why)
  }
  b.d.next.push(logs, kubectl.describePod(ctx))
  if (probe?.kind === 'httpGet' && probe.port !== undefined) {
    b.d.next.push(`${portForward(ctx, c, probe.port)}   # then request the probe path while the app is busy`)
  }
  b.d.next.push(
    c.startup === undefined
      ? 'Add a startupProbe for the start-up time, and give liveness a wider window (failureThreshold × periodSeconds) and a longer timeoutSeconds; liveness should check the process, not its dependencies.'
      : 'Widen the liveness window (failureThreshold × periodSeconds, timeoutSeconds) and make the endpoint cheap; it should not depend on databases or other services.',
  )
  return b
}

function graceExceeded(ctx: Ctx, c: ContainerView, codeText: string, again: string, events: EventView[], logs: string): Builder {
  const who = quoteName(c)
  const grace = graceSeconds(ctx.pod)
  const preStop = preStopSeconds(c)
  const exe = executable(c)
  const shellWrapped = exe !== undefined && isShell(exe.value) && !/\bexec\b/.test([...c.command, ...c.args].join(' '))
  let summary = `${who} did not stop within the ${grace}s grace period after SIGTERM and was killed with SIGKILL (${codeText})`
  if (c.preStop) summary += preStop !== undefined ? `; its preStop hook alone waits ${preStop}s of that period` : `; its preStop hook (${c.preStop.description}) runs first and uses part of that period`
  else if (shellWrapped) summary += '; its command runs under a shell, which does not pass SIGTERM on to the program'
  const b = diag('grace-period-exceeded', c, `${summary}.${again}`)
  if (ctx.pod.deletionTimestamp) b.d.evidence.push(at(['metadata', 'deletionTimestamp'], iso(ctx.pod.deletionTimestamp)))
  b.d.evidence.push(
    ctx.pod.deletionGracePeriodSeconds !== undefined
      ? at(['metadata', 'deletionGracePeriodSeconds'], ctx.pod.deletionGracePeriodSeconds)
      : ctx.pod.terminationGracePeriodSeconds !== undefined
        ? at(['spec', 'terminationGracePeriodSeconds'], ctx.pod.terminationGracePeriodSeconds)
        : ctx.partialSpec
          ? `spec.terminationGracePeriodSeconds: not in the input (the default, ${grace}s, assumed)`
          : `spec.terminationGracePeriodSeconds: not set (default ${grace})`,
  )
  if (c.preStop) b.d.evidence.push(at(c.preStop.path, c.preStop.description))
  withEvents(ctx, b.d, events)
  if (preStop !== undefined && preStop >= grace) b.d.preventedBy = 'prestop-exceeds-grace-period'
  b.d.next.push(
    logs,
    preStop !== undefined && preStop >= grace
      ? `Make the preStop wait shorter than terminationGracePeriodSeconds (${grace}s), leaving the application time to shut down, or raise the grace period.`
      : shellWrapped
        ? 'Start the program with `exec` (e.g. `sh -c "exec java -jar app.jar"`) so it receives SIGTERM, and make it exit promptly on SIGTERM.'
        : 'Make the application exit promptly on SIGTERM (close listeners, finish in-flight work), or raise terminationGracePeriodSeconds.',
  )
  return b
}

function startFailure(
  ctx: Ctx,
  c: ContainerView,
  cause: 'command-not-found' | 'command-not-executable',
  executableInMessage: string | undefined,
  how: string,
  again: string,
  started?: boolean,
): Builder {
  const who = quoteName(c)
  const exe = executable(c)
  // Exit 126/127 without a runtime message comes from a shell that ran: the culprit is in its script.
  const script = executableInMessage === undefined && exe !== undefined && isShell(exe.value) ? shellScript(c) : undefined
  const scriptWord = script?.trim().split(/\s+/)[0]
  const name = executableInMessage ?? (script !== undefined ? scriptWord : exe?.value)
  // A process that started found its entrypoint: a command it ran later was the one missing.
  const inner = started === true && executableInMessage === undefined && script === undefined
  let summary: string
  if (inner) {
    summary = cause === 'command-not-found'
      ? `${who} started, then exited with code 127: a command it ran (from a script or as a child process) was not found; its entrypoint${name !== undefined ? ` "${name}"` : ''} itself was found.${again}`
      : `${who} started, then exited with code 126: a command it ran was found but could not be executed (permission denied or not a binary for this system).${again}`
  } else if (script !== undefined) {
    summary = cause === 'command-not-found'
      ? `${who} exited with code 127: its shell could not find a command${scriptWord ? ` (the script starts with "${scriptWord}")` : ''}; it is missing from the image or not on PATH.${again}`
      : `${who} exited with code 126: its shell found a command but could not execute it (permission denied or not a binary for this system).${again}`
  } else if (cause === 'command-not-found') {
    summary = `${who} could not start: the executable ${name !== undefined ? `"${name}" ` : ''}was not found in the image (${how}).${again}`
  } else {
    summary = `${who} could not start: ${name !== undefined ? `"${name}"` : 'its command'} is not executable (permission denied, ${how}).${again}`
  }
  const b = diag(cause, c, summary)
  b.d.evidence.push(...commandEvidence(c))
  if (!inner && exe !== undefined && /\s/.test(exe.value.trim()) && cause === 'command-not-found') {
    b.d.preventedBy = 'command-whitespace-in-executable'
    b.d.evidence.push(`${exe.field}[0] ${JSON.stringify(exe.value)} contains a space, so the whole string is taken as one file name`)
  } else {
    const refs = undefinedEnvReferences(c)
    if (refs.length > 0) {
      b.d.preventedBy = 'command-env-reference-undefined'
      b.d.evidence.push(`$(${refs.join('), $(')}) is not defined in env and is passed literally`)
    }
  }
  b.d.next.push(
    kubectl.describePod(ctx),
    `kubectl debug ${ctx.pod.name} -n ${ctx.pod.namespace} -it --copy-to=${ctx.pod.name}-debug --container=${c.name} -- sh`,
  )
  if (b.d.preventedBy === 'command-whitespace-in-executable' && exe !== undefined) {
    b.d.next.push(`Split the command into a list: ${JSON.stringify(exe.value.trim().split(/\s+/))}.`)
  }
  b.d.next.push(
    cause === 'command-not-found'
      ? 'Use a path that exists in the image (absolute paths are safest), and make sure the image is built for the node\'s architecture.'
      : 'Make the file executable in the image (chmod +x, in the Dockerfile), check its #! line, and that the volume it lives on is not mounted noexec.',
  )
  return b
}

function hookDetails(ctx: Ctx, c: ContainerView, b: Builder, hook: ContainerView['postStart'], events: EventView[], logs: string): void {
  if (hook) b.d.evidence.push(at(hook.path, hook.description))
  withEvents(ctx, b.d, events)
  const cmd = hook?.command[0]
  if (cmd !== undefined && /\s/.test(cmd.trim()) && events.some((e) => /not found|no such file/i.test(e.message))) {
    b.d.preventedBy = 'command-whitespace-in-executable'
  }
  b.d.next.push(logs, kubectl.describePod(ctx), 'Run the hook command by hand in the container (`kubectl exec`) to see its error; a hook must finish quickly and exit 0.')
}

function waitingMessages(ctx: Ctx, c: ContainerView): { messages: string[]; events: EventView[] } {
  const events = containerEvents(ctx, c).filter((e) => e.type === 'Warning' || e.reason === 'Failed')
  const messages = [c.status?.state.waiting?.message, ...events.map((e) => e.message)].filter((m): m is string => typeof m === 'string' && m !== '')
  return { messages, events }
}

function imagePull(ctx: Ctx, c: ContainerView, reason: string): Diagnosis {
  const who = quoteName(c)
  const { messages, events } = waitingMessages(ctx, c)
  const pullEvents = events.filter((e) => /pull|image/i.test(e.message))
  let cls: ReturnType<typeof classifyPullMessage>
  for (const m of messages) {
    cls = classifyPullMessage(m)
    if (cls) break
  }
  const cause = cls?.cause ?? 'image-pull-failed'
  const detail = cls?.detail ?? (reason === 'RegistryUnavailable' ? 'the registry could not be reached' : 'the reason is not in the input; the Failed events of the pod carry it')
  const b = diag(cause, c, `${who} cannot pull ${c.image !== '' ? `image ${c.image}` : 'its image'} (${reason}): ${detail}.`)
  b.d.evidence.push(at([...(c.status?.path ?? []), 'state', 'waiting', 'reason'], reason))
  const wm = c.status?.state.waiting?.message
  if (wm) b.d.evidence.push(at([...(c.status?.path ?? []), 'state', 'waiting', 'message'], wm))
  b.d.evidence.push(at(p(c, 'image'), c.image))
  const shown = pullEvents.length > 0 ? pullEvents : events
  withEvents(ctx, b.d, [...shown.filter((e) => classifyPullMessage(e.message)), ...shown.filter((e) => !classifyPullMessage(e.message))])
  const registry = registryOf(c.image)
  b.d.next.push(kubectl.describePod(ctx))
  if (cause === 'image-not-found') {
    b.d.next.push(`docker manifest inspect ${c.image}   # or: crane manifest ${c.image}`, 'Fix the repository name or tag (typos, a tag that was never pushed, a registry prefix missing).')
  } else if (cause === 'image-pull-unauthorized') {
    if (ctx.partialSpec) {
      // describe text does not show imagePullSecrets: say what to check without guessing.
      b.d.next.push(
        `kubectl get pod ${ctx.pod.name} -n ${ctx.pod.namespace} -o jsonpath='{.spec.imagePullSecrets}'`,
        `Check that the pod (or its ServiceAccount) names a pull secret of type kubernetes.io/dockerconfigjson with credentials for ${registry}, and that it exists in namespace ${ctx.pod.namespace}.`,
      )
    } else if (ctx.pod.imagePullSecrets.length > 0) {
      b.d.evidence.push(at(['spec', 'imagePullSecrets'], ctx.pod.imagePullSecrets.map((name) => ({ name }))))
      b.d.preventedBy = 'image-pull-secret-missing'
      for (const s of ctx.pod.imagePullSecrets) b.d.next.push(`kubectl get secret ${s} -n ${ctx.pod.namespace}`)
      b.d.next.push(`Check that the pull secret exists in namespace ${ctx.pod.namespace}, is of type kubernetes.io/dockerconfigjson, and holds credentials for ${registry}.`)
    } else {
      b.d.evidence.push('spec.imagePullSecrets: none')
      if (!isPublicRegistry(registry)) b.d.preventedBy = 'image-private-registry-no-pull-secret'
      b.d.next.push(
        `kubectl create secret docker-registry regcred -n ${ctx.pod.namespace} --docker-server=${registry} --docker-username=USER --docker-password=TOKEN`,
        'Then add `imagePullSecrets: [{name: regcred}]` to the pod spec or to its ServiceAccount.',
      )
    }
  } else {
    if (ctx.pod.nodeName) b.d.next.push(`# on node ${ctx.pod.nodeName}: crictl pull ${c.image}`)
    b.d.next.push('Check that the node can reach the registry (DNS, proxy, firewall, TLS certificates) and whether the registry rate-limits you; a mirror or pull-through cache helps.')
  }
  return b.d
}

function configError(ctx: Ctx, c: ContainerView, reason: string): Diagnosis {
  const who = quoteName(c)
  const { messages, events } = waitingMessages(ctx, c)
  let missing: ReturnType<typeof parseMissingConfig>
  for (const m of messages) {
    missing = parseMissingConfig(m)
    if (missing) break
  }
  const waitPath = [...(c.status?.path ?? []), 'state', 'waiting']
  if (missing === undefined) {
    const text = messages[0] ?? 'no message in the input'
    const b = diag('container-create-failed', c, `${who} cannot be created (${reason}): ${text}.`)
    b.d.evidence.push(at([...waitPath, 'reason'], reason))
    withEvents(ctx, b.d, events)
    if (/runAsNonRoot/i.test(text)) b.d.next.push('Set securityContext.runAsUser to a non-zero UID (or use an image that declares a non-root USER).')
    b.d.next.push(kubectl.describePod(ctx))
    return b.d
  }
  const what = missing.key !== undefined ? `key "${missing.key}" of ${missing.kind} "${missing.name}"` : `${missing.kind} "${missing.name}"`
  const b = diag('config-missing', c, `${who} cannot be created (${reason}): it needs ${what}, which does not exist in namespace ${ctx.pod.namespace}.`)
  b.d.evidence.push(at([...waitPath, 'reason'], reason))
  for (const m of messages.slice(0, 1)) b.d.evidence.push(`message: ${m}`)
  const refs = configReferences(c, missing.kind, missing.name)
  b.d.evidence.push(...refs)
  withEvents(ctx, b.d, events.filter((e) => !messages.slice(0, 1).includes(e.message)))
  b.d.preventedBy = missing.kind === 'Secret' ? 'secret-missing' : 'configmap-missing'
  const kind = missing.kind === 'Secret' ? 'secret' : 'configmap'
  b.d.next.push(
    missing.key !== undefined ? `kubectl describe ${kind} ${missing.name} -n ${ctx.pod.namespace}   # lists the keys it has` : `kubectl get ${kind} ${missing.name} -n ${ctx.pod.namespace}`,
    missing.key !== undefined
      ? `Add the key "${missing.key}" to the ${missing.kind}, or fix the key name in the pod spec; mark the reference optional: true if it may be absent.`
      : `Create the ${missing.kind} "${missing.name}" in namespace ${ctx.pod.namespace} before the pod (or fix the name); mark the reference optional: true if it may be absent.`,
  )
  return b.d
}

function configReferences(c: ContainerView, kind: 'ConfigMap' | 'Secret', name: string): string[] {
  const out: string[] = []
  c.envFrom.forEach((e) => {
    if (e.kind === kind && e.name === name) out.push(`${formatPath(p(c, 'envFrom'))} references ${kind} ${name}`)
  })
  return out
}

function createError(ctx: Ctx, c: ContainerView, reason: string): Diagnosis {
  const who = quoteName(c)
  const { messages, events } = waitingMessages(ctx, c)
  const waitPath = [...(c.status?.path ?? []), 'state', 'waiting', 'reason']
  for (const m of messages) {
    const start = classifyStartMessage(m)
    if (start) {
      const b = startFailure(ctx, c, start.cause, start.executable, reason, '')
      b.d.evidence.unshift(at(waitPath, reason), `message: ${m}`)
      return b.d
    }
  }
  const text = messages[0]
  const b = diag('container-create-failed', c, `${who} cannot be ${reason === 'CreateContainerError' ? 'created' : 'started'} (${reason})${text ? `: ${text}` : ''}.`)
  b.d.evidence.push(at(waitPath, reason))
  withEvents(ctx, b.d, events)
  const mount = forbiddenMount(c)
  if (mount !== undefined) {
    b.d.preventedBy = 'mount-path-forbidden'
    b.d.evidence.push(`a volume is mounted at ${mount}, a path the runtime does not allow`)
  }
  if (text && /already in use|name .* is reserved/i.test(text)) b.d.next.push('The runtime still holds an old container of the same name; it usually clears by itself, else restart the runtime on the node.')
  b.d.next.push(kubectl.describePod(ctx), ...(ctx.pod.nodeName ? [kubectl.describeNode(ctx.pod.nodeName)] : []))
  return b.d
}

function hookWaiting(ctx: Ctx, c: ContainerView, reason: string): Diagnosis {
  const who = quoteName(c)
  const events = containerEvents(ctx, c).filter((e) => /Hook/.test(e.reason))
  const b = diag('hook-failed', c, `${who} is held back because its ${reason.startsWith('PreStart') ? 'pre-start' : 'postStart'} hook failed (${reason}).`)
  b.d.evidence.push(at([...(c.status?.path ?? []), 'state', 'waiting', 'reason'], reason))
  const wm = c.status?.state.waiting?.message
  if (wm) b.d.evidence.push(`message: ${wm}`)
  hookDetails(ctx, c, b, c.postStart, events, kubectl.logs(ctx, c, (c.status?.restartCount ?? 0) > 0))
  return b.d
}

function simpleWaiting(ctx: Ctx, c: ContainerView, reason: string): Diagnosis {
  const who = quoteName(c)
  const { messages, events } = waitingMessages(ctx, c)
  const waitPath = [...(c.status?.path ?? []), 'state', 'waiting', 'reason']
  const text = messages[0]
  let b: Builder
  if (reason === 'InvalidImageName') {
    b = diag('image-name-invalid', c, `${who} has an image reference that cannot be parsed (InvalidImageName): "${c.image}".`)
    b.d.preventedBy = 'image-name-invalid'
    b.d.next.push('Write the image as [registry/]repository[:tag][@sha256:digest], with the repository in lower case and no spaces.')
  } else if (reason === 'ErrImageNeverPull') {
    b = diag('image-never-pull', c, `${who} uses imagePullPolicy Never and image ${c.image} is not present on node ${ctx.pod.nodeName ?? '(unknown)'} (ErrImageNeverPull).`)
    b.d.preventedBy = 'image-pull-policy-never'
    b.d.evidence.push(at(p(c, 'imagePullPolicy'), c.imagePullPolicy ?? 'Never'))
    b.d.next.push('Use imagePullPolicy IfNotPresent (or Always), or preload the image on every node the pod may land on.')
  } else {
    b = diag('image-inspect-failed', c, `${who} cannot start: the runtime cannot read image ${c.image} on the node (ImageInspectError)${text ? `: ${text}` : ''}.`)
    if (ctx.pod.nodeName) b.d.next.push(`# on node ${ctx.pod.nodeName}: crictl inspecti ${c.image}; crictl rmi ${c.image}   # then let the kubelet pull it again`)
    b.d.next.push('Check the image reference (a short name may need a registry prefix for CRI-O) and that the image on the node is not corrupt.')
  }
  b.d.evidence.unshift(at(waitPath, reason), at(p(c, 'image'), c.image))
  if (text) b.d.evidence.push(`message: ${text}`)
  withEvents(ctx, b.d, events.filter((e) => e.message !== text))
  b.d.next.unshift(kubectl.describePod(ctx))
  return b.d
}

/** A container in CrashLoopBackOff whose last exit is not in the input (e.g. describe text cut short). */
function crashLoopUnknownExit(ctx: Ctx, c: ContainerView): Diagnosis {
  const liveness = livenessEvents(containerEvents(ctx, c))
  const logs = kubectl.logs(ctx, c, true)
  if (liveness.length > 0) return livenessKilled(ctx, c, 'exit code not in the input', '', liveness, logs).d
  const n = c.status?.restartCount ?? 0
  const b = diag('app-error', c, `${quoteName(c)} keeps exiting and is in CrashLoopBackOff (${n} restarts); its last exit code is not in the input.`)
  b.d.evidence.push(at([...(c.status?.path ?? []), 'state', 'waiting', 'reason'], 'CrashLoopBackOff'))
  withEvents(ctx, b.d, containerEvents(ctx, c).filter((e) => e.type === 'Warning'))
  b.d.next.push(logs, `kubectl get pod ${ctx.pod.name} -n ${ctx.pod.namespace} -o jsonpath='{.status.containerStatuses[?(@.name=="${c.name}")].lastState}'`)
  return b.d
}

function notReady(ctx: Ctx, c: ContainerView): Diagnosis | undefined {
  const s = c.status
  if (s === undefined || s.ready || s.state.running === undefined || c.kind === 'ephemeral') return undefined
  if (c.kind === 'init' && c.restartPolicy !== 'Always') return undefined
  const events = containerEvents(ctx, c).filter((e) => e.reason === 'Unhealthy' && /^(Readiness|Startup) probe/i.test(e.message))
  const started = s.state.running.startedAt
  const runningFor = started ? ctx.now.getTime() - started.getTime() : undefined
  const window = c.readiness ? (c.readiness.initialDelaySeconds + c.readiness.periodSeconds * c.readiness.failureThreshold) * 1000 : 0
  const longEnough = runningFor !== undefined && runningFor > Math.max(5 * 60 * 1000, window * 2)
  if (events.length === 0 && !(c.readiness && longEnough)) return undefined
  const startupFailing = events.length > 0 && events.every((e) => /^Startup/i.test(e.message))
  const probe = startupFailing ? c.startup : c.readiness
  const failures = events.reduce((n, e) => n + e.count, 0)
  const b = diag(
    'not-ready',
    c,
    `${quoteName(c)} is running${runningFor !== undefined ? ` (for ${ago(ctx, started)})` : ''} but not ready: its ${startupFailing ? 'startup' : 'readiness'} probe keeps failing${failures ? ` (${failures} failures seen)` : ''}, so Services send it no traffic.`,
  )
  b.d.evidence.push(at([...s.path, 'ready'], false))
  if (probe) b.d.evidence.push(at(probe.path, probeSettings(probe)))
  withEvents(ctx, b.d, events)
  const undeclared = probe && !(ctx.partialSpec && typeof probe.port === 'string') ? probePortUndeclared(c, probe) : undefined
  if (undeclared !== undefined) {
    b.d.preventedBy = 'probe-port-undeclared'
    b.d.evidence.push(undeclared)
  }
  b.d.next.push(kubectl.logs(ctx, c, false), kubectl.describePod(ctx))
  if (probe?.kind === 'httpGet' && probe.port !== undefined) {
    b.d.next.push(`${portForward(ctx, c, probe.port)}   # then request the probe path yourself`)
  }
  b.d.next.push('Check that the probe port and path match what the application serves, and that the dependencies the endpoint checks are reachable.')
  return b.d
}

/** The diagnoses of one container: its current failure, or its last abnormal exit. */
export function analyzeContainer(ctx: Ctx, c: ContainerView): Diagnosis[] {
  const s = c.status
  if (s === undefined) return []
  const out: Diagnosis[] = []
  const waiting = s.state.waiting
  const last = s.lastState.terminated
  const lastSite = (crashLoop: boolean): TerminationSite | undefined =>
    last ? { term: last, path: [...s.path, 'lastState', 'terminated'], previous: true, crashLoop } : undefined
  if (waiting?.reason) {
    const reason = waiting.reason
    switch (reason) {
      case 'CrashLoopBackOff': {
        const site = lastSite(true)
        const d = site ? explainTermination(ctx, c, site) : crashLoopUnknownExit(ctx, c)
        if (d) {
          d.evidence.unshift(at([...s.path, 'state', 'waiting', 'reason'], 'CrashLoopBackOff'))
          out.push(d)
        }
        return out
      }
      case 'ImagePullBackOff':
      case 'ErrImagePull':
      case 'RegistryUnavailable':
        return [imagePull(ctx, c, reason)]
      case 'InvalidImageName':
      case 'ErrImageNeverPull':
      case 'ImageInspectError':
        return [simpleWaiting(ctx, c, reason)]
      case 'CreateContainerConfigError':
        return [configError(ctx, c, reason)]
      case 'CreateContainerError':
      case 'RunContainerError':
      case 'StartError':
      case 'PreCreateHookError': {
        // The runtime's own words are often only in the last termination (StartError, exit 128).
        const site = lastSite(false)
        if (site && reason !== 'CreateContainerError' && (processStarted([], site.term) === false || classifyStartMessage(site.term.message ?? '') !== undefined)) {
          const d = explainTermination(ctx, c, site)
          if (d) {
            d.evidence.unshift(at([...s.path, 'state', 'waiting', 'reason'], reason))
            return [d]
          }
        }
        return [createError(ctx, c, reason)]
      }
      case 'PreStartHookError':
      case 'PostStartHookError':
        return [hookWaiting(ctx, c, reason)]
      default: {
        // Progress states (ContainerCreating, PodInitializing): a past crash is still worth telling.
        const site = lastSite(false)
        const d = site && s.restartCount > 0 ? explainTermination(ctx, c, site) : undefined
        return d ? [d] : []
      }
    }
  }
  if (s.state.terminated) {
    const d = explainTermination(ctx, c, { term: s.state.terminated, path: [...s.path, 'state', 'terminated'], previous: false, crashLoop: false })
    return d ? [d] : []
  }
  if (s.state.running) {
    const site = lastSite(false)
    if (site && s.restartCount > 0) {
      const d = explainTermination(ctx, c, site)
      if (d && d.cause !== 'completed') out.push(d)
    }
    // Readiness failing is only news when nothing worse is already said about the container.
    const nr = out.length === 0 ? notReady(ctx, c) : undefined
    if (nr) out.push(nr)
  }
  return out
}

/** Whether a container counts as failing for the init sequence. */
export function initFailing(c: ContainerView): boolean {
  const s = c.status
  if (s === undefined) return false
  const w = s.state.waiting?.reason
  if (w !== undefined && FAILURE_WAITING_REASONS.has(w)) return true
  const t = s.state.terminated
  if (t !== undefined && normalizeExitCode(t.exitCode) !== 0) return true
  if (s.state.running && s.lastState.terminated && normalizeExitCode(s.lastState.terminated.exitCode) !== 0) return true
  return false
}
