import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { argPath, execArgvs, execFailure, isShell, programIndex, restartOutcome } from '../engine/command.js'

const WHITESPACE = /\s/
const ANY_BLANK = /[\t\n\r\f\v]/

const WINDOWS_ABSOLUTE = /^[A-Za-z]:\\/

/**
 * An absolute path whose directories contain spaces (`/opt/Acme Tools/bin/agent`, or on Windows
 * nodes `C:\Program Files\Agent\agent.exe`) is a valid executable name: exec does not split
 * it. It looks like that when it is absolute, has no other whitespace than single inner spaces,
 * no piece after a space is an option, a path of its own, a variable or a quote, and the last
 * piece goes on with a separator (the path continues after the space into a directory). On
 * Linux a backslash disqualifies it: `/opt/my\ app` is not unescaped by exec.
 */
function isPathWithSpaces(value: string): boolean {
  const windows = WINDOWS_ABSOLUTE.test(value)
  if (!windows && (!value.startsWith('/') || value.includes('\\'))) return false
  if (ANY_BLANK.test(value) || value !== value.trim()) return false
  const pieces = value.split(' ')
  if (pieces.some((p) => p === '')) return false
  const rest = pieces.slice(1)
  if (rest.some((p) => /^[-/$"'`]/.test(p))) return false
  return (rest[rest.length - 1] ?? '').includes(windows ? '\\' : '/')
}

function fixFor(value: string): string {
  const trimmed = value.trim()
  if (value.includes('\\ ')) {
    return `drop the backslash, exec takes the path as written, spaces included: ${JSON.stringify(value.replace(/\\ /g, ' '))}; or split the words into separate elements`
  }
  const words = trimmed.split(/\s+/)
  if (words.length === 1) return `remove the surrounding whitespace: ${JSON.stringify(trimmed)}`
  const split = `give each word its own element, e.g. ${JSON.stringify(words)}`
  return isShell(words[0] ?? '') ? split : `${split}, or run it through a shell: ["sh", "-c", ${JSON.stringify(trimmed)}]`
}

export const rule = defineRule({
  id: 'command-whitespace-in-executable',
  title: 'Executable name contains whitespace',
  defaultAction: 'deny',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'command[0] (or args[0] without command) must be one executable, not a command line.',
    description:
      'Kubernetes passes `command` and `args` to exec as a list, without a shell: the first element is the file to run, ' +
      'taken literally. `command: ["python app.py"]` asks for an executable called "python app.py", which does not exist. ' +
      'The rule checks command[0] after `$(VAR)` expansion (or the program after wrappers such as `env` or `tini --`), ' +
      'args[0] when there is no command (unless it is an option such as `--config x` meant for the image entrypoint), and ' +
      'the first element of exec probes and exec lifecycle hooks. A backslash does not escape a space here: ' +
      '`/opt/my\\ app/run` is still looked up with the backslash. An absolute path whose directories contain spaces ' +
      '(`/opt/Acme Tools/bin/agent`, or `C:\\Program Files\\Agent\\agent.exe` on Windows nodes) is accepted, since ' +
      'exec runs it as written.',
    failure:
      'The runtime cannot find the executable: the container fails with StartError / RunContainerError ("executable file ' +
      'not found", exit 128, or exit 127 when an entrypoint script execs it) and goes into CrashLoopBackOff. In an exec ' +
      'probe the probe always fails (liveness: restarts; readiness: never Ready); in a lifecycle hook the hook fails ' +
      '(FailedPostStartHook kills the container; FailedPreStopHook skips the shutdown work).',
    fix:
      'Give each word its own list element, e.g. `command: ["python", "app.py"]`, or run the line through a shell: ' +
      '`command: ["sh", "-c", "python app.py"]`.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      for (const e of execArgvs(c)) {
        const p = programIndex(e.expanded)
        if (p < 0) continue
        const value = e.expanded[p] ?? ''
        if (!WHITESPACE.test(value) || isPathWithSpaces(value)) continue
        if (e.site === 'process' && !e.hasCommand && p === 0 && value.trimStart().startsWith('-')) continue
        const path = argPath(e, p)
        const written = e.argv[p] ?? value
        const shown = written === value ? JSON.stringify(value) : `${JSON.stringify(written)} (expands to ${JSON.stringify(value)})`
        const field = path.slice(path.lastIndexOf('.') + 1)
        let message: string
        if (e.site === 'process') {
          message =
            `container "${c.name}": ${field} ${shown} contains whitespace, so it is looked up as one executable name: ` +
            `not found, StartError (exit 128/127), ${restartOutcome(pod, c)}`
        } else {
          message = `container "${c.name}": ${e.label} ${shown} contains whitespace and names no executable: ${execFailure(e.site)}`
        }
        findings.push({
          path,
          container: c.name,
          message,
          fix: fixFor(value),
        })
      }
    }
    return findings
  },
})
