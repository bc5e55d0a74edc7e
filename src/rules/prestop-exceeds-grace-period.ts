import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { execArgvs, mainPath, parseScript, shellInvocation, sleepOf } from '../engine/command.js'

const DEFAULT_GRACE = 30

/** Seconds a preStop exec argv sleeps for sure: `sleep N`, or the top-level sleeps of a `sh -c` script added up. */
function execSleep(argv: readonly string[]): number | undefined {
  const sh = shellInvocation(argv)
  if (sh === undefined) return sleepOf(argv)
  if (sh.mode !== 'command' || sh.scriptIndex < 0) return undefined
  let total = 0
  for (const { cmd } of mainPath(parseScript(argv[sh.scriptIndex] ?? ''))) {
    const s = sleepOf(cmd.words)
    if (s !== undefined) total += s
  }
  return total > 0 ? total : undefined
}

function seconds(n: number): string {
  return n === Infinity ? 'forever' : `${Number.isInteger(n) ? n : n.toFixed(1)}s`
}

export const rule = defineRule({
  id: 'prestop-exceeds-grace-period',
  title: 'preStop hook sleeps through the termination grace period',
  defaultAction: 'warn',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'A preStop sleep as long as terminationGracePeriodSeconds leaves no time for a clean shutdown.',
    description:
      'The termination grace period (terminationGracePeriodSeconds, 30 by default) counts from the moment the pod is ' +
      'asked to stop, and the preStop hook runs inside it: the container receives SIGTERM only after the hook returns. ' +
      'The rule adds up what the hook sleeps for sure: the native `lifecycle.preStop.sleep.seconds`, an exec `sleep N` ' +
      '(`/bin/sleep 20`, `sleep 1m`, `sleep infinity`), or the unconditional top-level `sleep` commands of a ' +
      '`sh -c` script (`sleep 15 && nginx -s quit`); loops that wait for a condition are not counted. It fires when that ' +
      'sleep is at least the grace period. With a grace period of 0 any preStop sleep is reported, since the pod is meant ' +
      'to stop at once.',
    failure:
      'When the grace period runs out the kubelet kills the hook (FailedPreStopHook), gives the container a last two ' +
      'seconds, then sends SIGKILL: the application never shuts down cleanly and exits with 137; in-flight requests are ' +
      'cut and shutdown work (flushes, deregistration) is lost.',
    fix:
      'Keep the preStop sleep well below the grace period (a few seconds is enough to let endpoints update), or raise ' +
      '`terminationGracePeriodSeconds` to cover the sleep plus the time the application needs after SIGTERM.',
  },
  check(pod) {
    const grace = pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE
    const graceText =
      pod.spec.terminationGracePeriodSeconds === undefined
        ? `the default terminationGracePeriodSeconds of ${DEFAULT_GRACE}`
        : `terminationGracePeriodSeconds (${grace})`
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      const preStop = c.spec.lifecycle?.preStop
      if (preStop === undefined) continue
      let slept: number | undefined
      let path: string
      const native = preStop.sleep?.seconds
      if (native !== undefined) {
        slept = native
        path = `${c.path}.lifecycle.preStop.sleep.seconds`
      } else {
        const e = execArgvs(c).find((a) => a.site === 'preStop')
        if (e === undefined) continue
        slept = execSleep(e.argv)
        path = e.path
      }
      if (slept === undefined || slept <= 0 || slept < grace) continue
      const need = slept === Infinity ? undefined : Math.ceil(slept) + 15
      findings.push({
        path,
        container: c.name,
        message:
          grace === 0
            ? `container "${c.name}": preStop sleeps ${seconds(slept)} but terminationGracePeriodSeconds is 0: the hook is cut short and the container SIGKILLed (137)`
            : `container "${c.name}": preStop sleeps ${seconds(slept)}, which uses up ${graceText}: SIGKILL (137) before a clean shutdown, FailedPreStopHook`,
        fix:
          need === undefined
            ? 'replace the endless preStop sleep with a bounded one (a few seconds), shorter than the grace period'
            : `shorten the preStop sleep to a few seconds, or raise ${pod.specPath}.terminationGracePeriodSeconds to at least ${need}`,
      })
    }
    return findings
  },
})
