import { defineRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import type { Volume } from '../engine/k8s.js'

/**
 * A container path as the runtime resolves it: relative paths are taken from `/` (runc does),
 * empty and `.` segments dropped, `..` applied, no trailing slash.
 */
function normalizeMountPath(path: string): string {
  const out: string[] = []
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') out.pop()
    else out.push(seg)
  }
  return `/${out.join('/')}`
}

/**
 * Files below /proc that runc accepts as mount targets: the ones lxcfs emulates
 * (libcontainer checkProcMount). Everything else below /proc is refused.
 */
const LXCFS_PROC_FILES: ReadonlySet<string> = new Set([
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/net/dev',
  '/proc/sys/kernel/ns_last_pid',
])

interface Verdict {
  message: string
  fix: string
}

function judge(target: string, volume: Volume | undefined): Verdict | undefined {
  const hostPath = volume?.hostPath?.path
  if (target === '/') {
    return {
      message: 'covers the container\'s root filesystem: the runtime refuses it (CreateContainerError), or the image\'s files are hidden and the command is not found (StartError)',
      fix: 'mount the volume on a directory of its own, e.g. /data',
    }
  }
  if (target === '/proc') {
    // runc allows a procfs source on /proc itself: a hostPath of the host's /proc.
    if (hostPath !== undefined && normalizeMountPath(hostPath) === '/proc') return undefined
    return {
      message: 'replaces the process filesystem, and runc accepts only a procfs source there ("not of type proc"): CreateContainerError, the container never starts',
      fix: 'mount it somewhere else (e.g. /host/proc for the node\'s /proc, read-only)',
    }
  }
  if (target.startsWith('/proc/')) {
    if (LXCFS_PROC_FILES.has(target)) return undefined
    return {
      message: 'is inside /proc, where runc refuses mounts ("cannot be mounted because it is inside /proc"): CreateContainerError, the container never starts',
      fix: 'mount it outside /proc and point the program at that path',
    }
  }
  if (target === '/sys' || target === '/dev') {
    // A hostPath here is the device-plugin / CSI-node pattern: containerd and CRI-O drop their own
    // /dev (or /sys) mounts for it and runc does not create device nodes. Anything else hides them.
    if (hostPath !== undefined) return undefined
    const hides =
      target === '/dev' ? 'the device nodes (/dev/null, /dev/urandom, /dev/shm, /dev/pts)' : 'sysfs (including /sys/fs/cgroup, which runtimes read to size themselves)'
    return {
      message: `puts ${volumeType(volume)} in place of ${hides}: the container runs without them and fails at start or later in ways that are hard to trace`,
      fix: `mount it on a subdirectory (e.g. ${target === '/dev' ? '/dev/shm for an emptyDir with medium Memory' : '/data'}) or elsewhere; only a hostPath of the node's ${target} belongs on ${target}`,
    }
  }
  return undefined
}

function volumeType(volume: Volume | undefined): string {
  if (volume?.emptyDir !== undefined) return 'an emptyDir volume'
  if (volume !== undefined) {
    for (const k of ['configMap', 'secret', 'persistentVolumeClaim', 'projected'] as const) if (volume[k] !== undefined) return `a ${k} volume`
  }
  return 'a volume that is not a hostPath'
}

export const rule = defineRule({
  id: 'mount-path-forbidden',
  title: 'Volume mounted on a path the runtime owns',
  defaultAction: 'deny',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'A volume is mounted on /, /proc, /sys, /dev or inside /proc.',
    description:
      'Normalises each volumeMount mountPath (`//proc/`, `/proc/../proc` are /proc) and reports mounts on `/`, on ' +
      '`/proc` or inside it, and on `/sys` or `/dev` themselves. Mounts below /dev and /sys (such as an emptyDir on ' +
      '/dev/shm) are fine, as are the /proc files lxcfs provides (/proc/meminfo, /proc/cpuinfo...), a hostPath of ' +
      'the node\'s /proc on /proc, and a hostPath on /dev or /sys (device plugins and CSI node drivers do this).',
    failure:
      'The runtime refuses the mount and the container never starts: CreateContainerError ("cannot be mounted because ' +
      'it is inside /proc", "not of type proc"). A volume over / hides the image; one over /dev or /sys hides the ' +
      'device nodes or sysfs the container needs.',
    fix: 'Mount the volume on a directory of its own (e.g. /data), or below /dev (/dev/shm) when that is what was meant.',
  },
  check(pod) {
    const findings: RuleFinding[] = []
    const volumes = new Map<string, Volume>()
    for (const v of pod.spec.volumes ?? []) if (v.name !== undefined) volumes.set(v.name, v)
    for (const c of pod.containers) {
      ;(c.spec.volumeMounts ?? []).forEach((m, i) => {
        if (m.mountPath === undefined || m.mountPath === '') return
        const target = normalizeMountPath(m.mountPath)
        const verdict = judge(target, m.name === undefined ? undefined : volumes.get(m.name))
        if (verdict === undefined) return
        const shown = target === m.mountPath ? m.mountPath : `${m.mountPath} (that is ${target})`
        findings.push({
          path: `${c.path}.volumeMounts[${i}].mountPath`,
          container: c.name,
          message: `container "${c.name}": volumeMount "${m.name ?? ''}" at ${shown} ${verdict.message}`,
          fix: verdict.fix,
        })
      })
    }
    return findings
  },
})
