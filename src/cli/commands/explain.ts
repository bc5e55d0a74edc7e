import { open, readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { stringify } from 'yaml'
import { isUnhealthy } from '../../analyzer/analyze.js'
import { toJson, toText, type ExplainedPod } from '../../analyzer/format.js'
import type { LogInput, PodInput } from '../../analyzer/input.js'
import { MAX_LOG_BYTES } from '../../analyzer/log-signatures.js'
import { safeText } from '../../text/sanitize.js'
import { emptyInputs, explainInputs, readExplainText } from '../../analyzer/read-input.js'
import { DEFAULT_MAX_FILE_BYTES, readInputs } from '../../input/documents.js'
import { EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from '../io.js'
import { allNamespacesOption, colorOption, filenameOption, filenames, kubeOptions, namespaceOption, outputFileOption, outputFormat, outputOption, progName, runCommand, useColor, withOutputFile, type CommandContext, type CommandSpec, type OutputOpts } from '../command.js'

interface Explained {
  results: ExplainedPod[]
  errors: string[]
  warnings?: string[]
  /** Said to people (text format) when there is nothing to list. */
  note?: string
}

async function readText(path: string, io: CliIO): Promise<{ text: string } | { error: string } | { directory: true }> {
  if (path === '-') return { text: await readAll(io.stdin) }
  const abs = resolve(io.cwd, path)
  let st
  try {
    st = await stat(abs)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { error: code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${code ?? String(err)}` }
  }
  if (st.isDirectory()) return { directory: true }
  if (st.size > DEFAULT_MAX_FILE_BYTES) return { error: `file is larger than ${DEFAULT_MAX_FILE_BYTES / 2 ** 20} MiB` }
  try {
    return { text: (await readFile(abs)).toString('utf8') }
  } catch (err) {
    return { error: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }
  }
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    size += b.length
    if (size > DEFAULT_MAX_FILE_BYTES) throw new UsageError(`standard input is larger than ${DEFAULT_MAX_FILE_BYTES / 2 ** 20} MiB`)
    chunks.push(b)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function explainPods(inputs: readonly PodInput[], now: Date, errors: string[], warnings: string[]): ExplainedPod[] {
  const r = explainInputs({ ...emptyInputs(), pods: [...inputs] }, now)
  errors.push(...r.errors)
  warnings.push(...r.warnings)
  return r.results
}

/** The end of a log file: at most MAX_LOG_BYTES, read from the end whatever the file's size. */
async function readLogFile(path: string, io: CliIO): Promise<LogInput | { error: string }> {
  if (path === '-') {
    const text = await readAll(io.stdin)
    return { text, source: '<stdin>' }
  }
  let fh
  try {
    fh = await open(resolve(io.cwd, path), 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { error: `${path}: ${code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${code ?? String(err)}`}` }
  }
  try {
    const st = await fh.stat()
    if (st.isDirectory()) return { error: `${path}: is a directory; --logs takes a file` }
    const length = Math.min(st.size, MAX_LOG_BYTES)
    const buf = Buffer.alloc(length)
    const { bytesRead } = await fh.read(buf, 0, length, st.size - length)
    let text = buf.subarray(0, bytesRead).toString('utf8')
    const cut = st.size > length
    // Reading from the middle of the file: start at the first whole line.
    if (cut) text = text.slice(text.indexOf('\n') + 1)
    return { text, source: path, cut }
  } catch (err) {
    return { error: `${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }
  } finally {
    await fh.close()
  }
}

async function fromFiles(paths: readonly string[], io: CliIO, now: Date, logs: LogInput[]): Promise<Explained> {
  const inputs = emptyInputs()
  if (logs.length > 0) inputs.logs = logs
  for (const path of paths) {
    const name = path === '-' ? '<stdin>' : path
    const read = await readText(path, io)
    if ('error' in read) {
      inputs.errors.push(`${name}: ${read.error}`)
      continue
    }
    if ('directory' in read) {
      const r = await readInputs([path], io)
      for (const e of r.errors) inputs.errors.push(`${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}`)
      for (const d of r.documents) inputs.values.push({ value: d.value, file: d.source.file, ...(d.source.line !== undefined ? { line: d.source.line } : {}) })
      continue
    }
    readExplainText(read.text, name, now, inputs)
  }
  return explainInputs(inputs, now)
}

async function fromCluster(opts: { pod?: string; all: boolean; namespace?: string; kubeconfig?: string; context?: string; previousLogs: boolean }, io: CliIO, now: Date): Promise<Explained> {
  const { clusterSource, ClusterError } = await import('../../analyzer/cluster-source.js')
  const warn = (m: string): void => {
    io.stderr.write(`${progName(io)} explain: warning: ${m}\n`)
  }
  const errors: string[] = []
  const warnings: string[] = []
  try {
    const source = clusterSource(
      {
        ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
        ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}),
        ...(opts.context !== undefined ? { context: opts.context } : {}),
        env: io.env,
      },
      warn,
    )
    if (opts.pod !== undefined) {
      const input = await source.fetchPod(opts.pod)
      if (opts.previousLogs) input.logs = await source.fetchLogs(input.pod)
      return { results: explainPods([input], now, errors, warnings), errors, warnings }
    }
    const inputs = await source.fetchNamespace()
    if (opts.previousLogs) for (const input of inputs) input.logs = await source.fetchLogs(input.pod)
    const results = explainPods(inputs, now, errors, warnings).filter((r) => isUnhealthy(r.diagnoses))
    const note = `No unhealthy pods in namespace ${source.namespace} (${inputs.length} pod${inputs.length === 1 ? '' : 's'} checked).\n`
    return results.length === 0 && errors.length === 0 ? { results, errors, warnings, note } : { results, errors, warnings }
  } catch (err) {
    if (err instanceof ClusterError) return { results: [], errors: [err.message] }
    throw err
  }
}

const FORMATS = ['text', 'json', 'yaml'] as const

interface ExplainOpts extends OutputOpts {
  filename?: string[]
  file?: string[]
  namespace?: string
  all?: boolean
  allNamespaces?: boolean
  kubeconfig?: string
  context?: string
  now?: string
  color?: string | boolean
  logs?: string
  container?: string
  previousLogs?: boolean
  outputFile?: string
}

export const command: CommandSpec<ExplainOpts> = {
  configure(cmd, { prog }) {
    cmd
      .description(
        'Explains why pods failed: from files (-f), a pod of the live cluster (POD), or every ' +
          'unhealthy pod of a namespace (--all).\n\n' +
          'Input files may hold a Pod and its Events in any mix of JSON, YAML, multi-document YAML and ' +
          'Lists, as `kubectl get pod POD -o yaml` and `kubectl get events -o yaml` print them, or the ' +
          'text of `kubectl describe pod POD` (current and older kubectl versions).',
      )
      .usage(`[options] POD | -f FILE... | --all`)
      .argument('[pod...]', 'a pod of the live cluster (- reads a file from standard input)')
    filenameOption(cmd, 'input file, directory, or - for standard input (repeatable)', ['file'])
    namespaceOption(cmd, "namespace for POD and --all (default: the context's namespace)")
    cmd.option('--all', 'every unhealthy pod of the namespace')
    allNamespacesOption(cmd, `not read by explain (one namespace at a time): says to use --all -n NS, or '${prog} audit -A'`)
    kubeOptions(cmd)
    outputOption(cmd, FORMATS, 'text')
    outputFileOption(cmd, 'the explanation')
    cmd.option('--logs <file>', "the container's log (`kubectl logs POD -c C --previous > FILE`; - for standard input): its last 256 KiB are searched for known failure signatures")
    cmd.option('-c, --container <name>', 'whose log --logs is, when the pod has several containers')
    cmd.option('--previous-logs', "live pods: also read the failed containers' previous logs (needs get on pods/log)")
    cmd.option('--now <time>', 'judge ages as of this RFC 3339 time, for reproducible output')
    colorOption(cmd)
    cmd.addHelpText(
      'after',
      `\nExamples:\n  ${prog} explain -f pod.yaml -f events.yaml\n  kubectl describe pod web-0 | ${prog} explain -f -\n  ${prog} explain -f describe.txt --logs api.log -c api\n  ${prog} explain web-0 -n shop --previous-logs\n  ${prog} explain web-0 -n shop\n  ${prog} explain --all -n shop\n\n` +
        'Exit status: 0 when the pods were explained (including "nothing wrong found"),\n' +
        '2 for unreadable or invalid input, an unreachable cluster, or a usage error.',
    )
  },
  action: (opts, operands, io, ctx) => withOutputFile(opts.outputFile, io, ctx, (out) => explain(opts, operands, out, ctx)),
}

/** `explain ARGS` as main runs it, for tests. */
export const run = (args: string[], io: CliIO): Promise<number> => runCommand(command as CommandSpec<object>, 'explain', args, io)

async function explain(values: ExplainOpts, positionals: string[], io: CliIO, { prog }: CommandContext): Promise<number> {
  const format = outputFormat(values, FORMATS, 'text')
  const color = useColor(values, io)
  let now = new Date()
  if (values.now !== undefined) {
    now = new Date(values.now)
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an RFC 3339 time such as 2024-05-13T10:00:00Z, not "${values.now}"`)
  }
  if (values.allNamespaces === true) {
    throw new UsageError(
      `-A/--all-namespaces: explain reads one namespace at a time; give --all -n NAMESPACE for every unhealthy pod of one, ` +
        `or run '${prog} audit -A' for every workload of all namespaces with the diagnosis of its failing pods`,
    )
  }
  const files = filenames(values, ['file'])
  const pods = positionals.filter((p) => p !== '-')
  if (positionals.includes('-')) files.push('-')
  if (files.length > 0 && (pods.length > 0 || values.all)) throw new UsageError('give either files (-f) or a pod name / --all, not both')
  if (pods.length > 1) throw new UsageError(`one pod at a time (got ${pods.join(', ')}); use --all for a whole namespace`)
  if (values.all && pods.length > 0) throw new UsageError('give a pod name or --all, not both')
  if (files.length === 0 && pods.length === 0 && !values.all) throw new UsageError(`nothing to explain: give -f FILE, a pod name, or --all\nRun '${prog} explain --help' for its options.`)
  if (files.length > 0 && (values.kubeconfig !== undefined || values.context !== undefined)) {
    throw new UsageError('--kubeconfig and --context apply to the live cluster, not to files')
  }

  if (values.logs !== undefined && files.length === 0) throw new UsageError('--logs goes with -f FILE (the pod); for a live pod use --previous-logs')
  if (values.previousLogs === true && files.length > 0) throw new UsageError('--previous-logs reads from the live cluster; with files, give the log with --logs FILE')
  if (values.container !== undefined && values.logs === undefined) throw new UsageError('--container names whose log --logs is; give --logs FILE too')
  if (values.logs === '-' && files.includes('-')) throw new UsageError('standard input can hold the pod or the log, not both')
  const logs: LogInput[] = []
  if (values.logs !== undefined) {
    const log = await readLogFile(values.logs, io)
    if ('error' in log) throw new UsageError(`--logs ${log.error}`)
    if (values.container !== undefined) log.container = values.container
    logs.push(log)
  }

  const explained =
    files.length > 0
      ? await fromFiles(files, io, now, logs)
      : await fromCluster(
          {
            all: values.all === true,
            ...(pods[0] !== undefined ? { pod: pods[0] } : {}),
            ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
            ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
            ...(values.context !== undefined ? { context: values.context } : {}),
            previousLogs: values.previousLogs === true,
          },
          io,
          now,
        )

  if (format === 'json') io.stdout.write(toJson(explained.results))
  else if (format === 'yaml') io.stdout.write(stringify(JSON.parse(toJson(explained.results))))
  else if (explained.results.length > 0) io.stdout.write(toText(explained.results, { color }))
  else if (explained.note !== undefined) io.stdout.write(explained.note)
  for (const w of explained.warnings ?? []) io.stderr.write(`${prog} explain: warning: ${safeText(w, 500)}\n`)
  for (const e of explained.errors) io.stderr.write(`${prog} explain: ${e}\n`)
  return explained.errors.length > 0 ? EXIT_USAGE : EXIT_OK
}
