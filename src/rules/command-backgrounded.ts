import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import {
  argPath,
  basename,
  excerpt,
  imageRepository,
  lastCommand,
  parseScript,
  processArgv,
  programIndex,
  shellInvocation,
  type ShellCommand,
} from '../engine/command.js'

const START = new Set(['start', 'restart'])
const NGINX = new Set(['nginx', 'nginx-debug', 'openresty'])
/** nginx options that do not start a server: signal, config test, version, help. */
const NGINX_NO_SERVER = new Set(['-s', '-t', '-T', '-v', '-V', '-h', '-?'])
const DAEMON_OFF = /daemon\s+off\s*;/
const APACHECTL = new Set(['apachectl', 'apache2ctl'])
const HTTPD = new Set(['httpd', 'apache2'])
const INIT_D = /^\/etc\/(?:rc\.d\/)?init\.d\//
const TOMCAT = /tomcat|catalina/i

interface Problem {
  why: string
  fix: string
}

const FOREGROUND_FIX = 'run the daemon binary itself in the foreground with exec (its foreground option, e.g. -D, --nodaemon, -f), as the last command'

/**
 * Why the program in `words` (after wrappers such as `exec`, `nohup`, `env`) returns at once
 * after starting a daemon, or undefined when it runs in the foreground as far as we can tell.
 */
function daemonizes(words: readonly string[], image: string): Problem | undefined {
  const p = programIndex(words)
  if (p < 0) return undefined
  const prog = words[p] ?? ''
  const name = basename(prog)
  const rest = words.slice(p + 1)
  const tomcatFix = 'use exec catalina.sh run, which keeps Tomcat in the foreground'
  if (name === 'catalina.sh' && rest.includes('start') && !rest.includes('run')) {
    return { why: '`catalina.sh start` starts Tomcat in the background and returns', fix: tomcatFix }
  }
  if (name === 'startup.sh' && (TOMCAT.test(prog) || TOMCAT.test(imageRepository(image)))) {
    return { why: "Tomcat's startup.sh runs `catalina.sh start`, which returns once Tomcat is in the background", fix: tomcatFix }
  }
  if (name === 'service' && START.has(rest[1] ?? '')) {
    return { why: `\`service ${rest[0] ?? ''} ${rest[1] ?? ''}\` starts a daemon and returns`, fix: FOREGROUND_FIX }
  }
  if (name === 'systemctl' && rest.some((a) => START.has(a))) {
    return { why: '`systemctl start` returns at once (and a container has no systemd to start anything)', fix: FOREGROUND_FIX }
  }
  if (INIT_D.test(prog) && START.has(rest[0] ?? '')) {
    return { why: `\`${prog} ${rest[0] ?? ''}\` starts a daemon and returns`, fix: FOREGROUND_FIX }
  }
  const apacheFix = 'use exec httpd -DFOREGROUND (or the image\'s httpd-foreground)'
  if (APACHECTL.has(name) && rest.some((a) => START.has(a))) {
    return { why: `\`${name} start\` starts Apache in the background and returns`, fix: apacheFix }
  }
  if (HTTPD.has(name) && rest.includes('-k') && rest.some((a) => START.has(a))) {
    return { why: `\`${name} -k start\` starts Apache in the background and returns`, fix: apacheFix }
  }
  if (NGINX.has(name)) {
    if (rest.some((a) => NGINX_NO_SERVER.has(a))) return undefined
    const directives = rest.flatMap((a, k) => (a === '-g' ? [rest[k + 1] ?? ''] : a.startsWith('-g') ? [a.slice(2)] : []))
    if (directives.some((d) => DAEMON_OFF.test(d))) return undefined
    return {
      why: `${name} without \`-g 'daemon off;'\` forks into the background and its first process exits`,
      fix: `run exec ${name} -g 'daemon off;' (or set daemon off; in nginx.conf)`,
    }
  }
  return undefined
}

/** Why the script leaves no foreground process, if it visibly does. */
function scriptProblem(commands: readonly ShellCommand[], image: string): Problem | undefined {
  const last = lastCommand(commands)
  if (last === undefined || last.depth !== 0) return undefined
  if (last.after === '&') {
    if (last.words.length === 0) {
      return {
        why: `the script ends with \`${last.reserved.join(' ')} &\`, sending its last block to the background with nothing to wait for it`,
        fix: 'drop the final & so the block runs in the foreground, or add wait at the end of the script',
      }
    }
    const text = excerpt([...last.assignments, ...last.words].join(' '), 50)
    const p = programIndex(last.words)
    const main = excerpt(last.words.slice(Math.max(p, 0)).join(' '), 50)
    const viaNohup = last.words.slice(0, Math.max(p, 0)).some((w) => basename(w) === 'nohup')
    return {
      why: `the script's last command \`${text} &\` runs in the background with nothing after it to wait`,
      fix: `drop the final &${viaNohup ? ' and nohup' : ''} and start it with exec: exec ${main}; or add wait at the end of the script`,
    }
  }
  if (last.words.length === 0 || last.before === '||') return undefined
  return daemonizes(last.words, image)
}

export const rule = defineRule({
  id: 'command-backgrounded',
  title: 'Main process sent to the background',
  defaultAction: 'warn',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'The container command puts its main process in the background or starts a daemon, then exits.',
    description:
      'A container lives as long as its first process. The rule reads the command and args of app containers and native ' +
      'sidecars, including `sh -c` scripts, and fires when the last thing they do leaves nothing in the foreground: a script ' +
      'whose last command ends with `&` (typically `nohup java … &`) with no `wait` after it, or a command that daemonises: ' +
      "`catalina.sh start`, Tomcat's `startup.sh`, `service X start`, `systemctl start`, `/etc/init.d/X start`, " +
      "`apachectl start`, `httpd -k start`, and `nginx` run without `-g 'daemon off;'`. Quoted `&`, `&&`, `x & wait`, " +
      "`exec catalina.sh run` and `nginx -g 'daemon off;'` are fine. A daemon followed by a foreground command (for " +
      'example `service x start && tail -f log`) keeps the container alive and is not reported. Probes and lifecycle hooks ' +
      'are not checked: a hook may start a background helper on purpose. When an nginx.conf of a custom image sets ' +
      '`daemon off;` itself, bare `nginx` is fine: skip the rule for that workload.',
    failure:
      'The first process returns once the daemon is started; the container exits with code 0, its background process is ' +
      'killed with it, and the kubelet restarts it again and again: CrashLoopBackOff with exit 0. In a Job the work is ' +
      'killed and the Job reports success.',
    fix:
      'Run the server in the foreground as the last command, ideally with `exec` so it receives SIGTERM: ' +
      "`exec catalina.sh run`, `exec nginx -g 'daemon off;'`, `exec java -jar app.jar` instead of `nohup … &`, or add `wait` " +
      'after the background jobs.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind === 'ephemeralContainer' || (c.kind === 'initContainer' && !c.longRunning)) continue
      const e = processArgv(c)
      if (e === undefined) continue
      const image = c.spec.image ?? ''
      const sh = shellInvocation(e.expanded)
      let problem: Problem | undefined
      let path: string
      if (sh !== undefined) {
        if (sh.mode !== 'command' || sh.scriptIndex < 0) continue
        problem = scriptProblem(parseScript(e.expanded[sh.scriptIndex] ?? ''), image)
        path = argPath(e, sh.scriptIndex)
      } else {
        problem = daemonizes(e.expanded, image)
        path = argPath(e, programIndex(e.expanded))
      }
      if (problem === undefined) continue
      const outcome = c.longRunning
        ? 'the container exits 0 and restarts: CrashLoopBackOff'
        : 'the container completes at once and its background work is killed'
      findings.push({
        path,
        container: c.name,
        message: `container "${c.name}": ${problem.why}; ${outcome}`,
        fix: problem.fix,
      })
    }
    return findings
  },
})
