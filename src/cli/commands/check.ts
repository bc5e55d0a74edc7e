import { DEFAULT_MAX_FILE_BYTES, readInputs } from '../../input/documents.js'
import { KUSTOMIZE_MODES, readSources, type KustomizeMode } from '../../input/sources.js'
import { RULES } from '../../rules/index.js'
import { loadDefaultPolicy, loadPolicyFile, PolicyError, type Policy } from '../../policy/policy.js'
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from '../io.js'
import { colorOption, filenameOption, filenames, namespaceOption, outputFileOption, outputFormat, outputOption, runCommand, useColor, valuesOption, withOutputFile, type CommandContext, type CommandSpec, type OutputOpts } from '../command.js'
import { runCheck } from '../run-check.js'
import { formatText } from '../format/text.js'
import { formatJson, formatYaml } from '../format/json.js'
import { relatedFromObjects } from '../../engine/related.js'
import { loadClusterStateFiles } from '../../cluster/files.js'
import type { ClusterView } from '../../cluster/view.js'
import { DEFAULT_KUBERNETES_VERSION, SHIPPED_VERSIONS, kubernetesSchemas, shippedVersion } from '../../schema/kubernetes.js'
import type { ReportError } from '../report.js'
import { quote } from '../../text/sanitize.js'

const FORMATS = ['text', 'json', 'yaml', 'sarif', 'junit', 'codequality', 'github'] as const
type Format = (typeof FORMATS)[number]

interface CheckOpts extends OutputOpts {
  filename?: string[]
  policy?: string
  namespace?: string
  failOn: string
  outputFile?: string
  clusterState?: string[]
  complete?: boolean
  showInfo?: boolean
  maxFileSize?: string
  kubernetesVersion?: string
  crd?: string[]
  color?: string | boolean
  include?: string[]
  exclude?: string[]
  kustomize: string
}

export const command: CommandSpec<CheckOpts> = {
  configure(cmd, { prog }) {
    cmd
      .description(
        'Checks Kubernetes manifests against the rules. A PATH (operand or -f) is a file, a directory ' +
          '(read recursively: *.yaml, *.yml, *.json) or - for standard input.',
      )
      .argument('[paths...]', 'manifest files or directories, or - for standard input')
    filenameOption(cmd, 'manifest file, directory, or - for standard input (repeatable)')
    cmd.option('-p, --policy <file>', 'policy file, or builtin:strict (default: the built-in default policy)')
    outputOption(cmd, FORMATS, 'text')
    outputFileOption(cmd, 'the report')
    namespaceOption(cmd, 'namespace of objects that name none (default: default)')
    cmd
      .option('--cluster-state <file>', `cluster objects as 'kubectl get ... -A -o yaml|json' prints them, or a '${prog} snapshot' file; enables the cluster rules (repeatable)`, collect)
      .option('--complete', 'the run holds everything its manifests reference: a ConfigMap, Secret, PVC or ServiceAccount absent from it does not exist')
    valuesOption(cmd, '--fail-on <level>', 'exit 1 on findings at this level or above: deny, warn, info, or never (as audit)', ['deny', 'warn', 'info', 'never'], 'deny')
    cmd
      .option('--show-info', 'text output: show info findings too')
      .option('--kubernetes-version <version>', `the Kubernetes version whose schemas the schema check uses: ${SHIPPED_VERSIONS.join(', ')} (default: ${DEFAULT_KUBERNETES_VERSION})`)
      .option('--crd <file>', 'a CustomResourceDefinition file: its custom resources are checked against its openAPIV3Schema (repeatable; without it custom resources are not schema-checked)', collect)
      .option('--max-file-size <mib>', `refuse files larger than this many MiB (default: ${DEFAULT_MAX_FILE_BYTES / 1024 / 1024})`)
      .option('--include <glob>', 'read only files matching this glob (repeatable; a glob without / matches the file name)', collect)
      .option('--exclude <glob>', 'leave out files and directories matching this glob (repeatable)', collect)
    valuesOption(cmd, '--kustomize <mode>', 'render directories with a kustomization.yaml through kubectl kustomize: auto (when kubectl is on PATH), always, never', KUSTOMIZE_MODES, 'auto')
    colorOption(cmd)
    cmd.addHelpText(
      'after',
      '\nExit status: 0 nothing denied, 1 something denied (or at --fail-on level), 2 usage error\n' +
        'or unreadable/invalid input (the other files are still checked and reported).',
    )
  },
  action: (opts, operands, io, ctx) => withOutputFile(opts.outputFile, io, ctx, (out) => check(opts, operands, out, ctx)),
}

/** `check ARGS` as main runs it, for tests. */
export const run = (args: string[], io: CliIO): Promise<number> => runCommand(command as CommandSpec<object>, 'check', args, io)

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

async function check(values: CheckOpts, operands: string[], io: CliIO, { prog }: CommandContext): Promise<number> {
  const format: Format = outputFormat(values, FORMATS, 'text')
  const color = useColor(values, io)
  const failOn = values.failOn
  if (failOn !== 'deny' && failOn !== 'warn' && failOn !== 'info' && failOn !== 'never') throw new UsageError(`--fail-on must be deny, warn, info or never, not ${quote(failOn)}`)
  const positionals = [...filenames(values), ...operands]
  if (positionals.length === 0) throw new UsageError(`no manifests given: name files or directories (or -f PATH), or - for standard input\nRun '${prog} check --help' for its options.`)
  const kustomize = values.kustomize
  if (!(KUSTOMIZE_MODES as readonly string[]).includes(kustomize)) throw new UsageError(`--kustomize must be auto, always or never, not ${quote(kustomize)}`)
  const namespace = values.namespace ?? 'default'
  let maxFileBytes = DEFAULT_MAX_FILE_BYTES
  if (values.maxFileSize !== undefined) {
    const mib = Number(values.maxFileSize)
    if (!Number.isFinite(mib) || mib <= 0) throw new UsageError(`--max-file-size takes a number of MiB, not ${quote(values.maxFileSize)}`)
    maxFileBytes = Math.floor(mib * 1024 * 1024)
  }

  let kubernetesVersion = DEFAULT_KUBERNETES_VERSION
  if (values.kubernetesVersion !== undefined) {
    const v = shippedVersion(values.kubernetesVersion)
    if (v === undefined) {
      throw new UsageError(`--kubernetes-version: no schemas are shipped for ${quote(values.kubernetesVersion)}; shipped: ${SHIPPED_VERSIONS.join(', ')} (a newer cluster: use the newest, ${DEFAULT_KUBERNETES_VERSION})`)
    }
    kubernetesVersion = v
  }

  let policy: Policy
  try {
    policy = values.policy !== undefined ? await loadPolicyFile(values.policy, RULES) : await loadDefaultPolicy(RULES)
  } catch (err) {
    if (err instanceof PolicyError) {
      io.stderr.write(`${prog} check: the policy cannot be used:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`)
      return EXIT_USAGE
    }
    throw err
  }

  let cluster: ClusterView | undefined
  const stateErrors = []
  const statePaths = values.clusterState ?? []
  if (statePaths.length > 0) {
    const loaded = await loadClusterStateFiles(statePaths, { cwd: io.cwd, stdin: io.stdin })
    cluster = loaded.view
    stateErrors.push(...loaded.errors)
  }
  const { documents, errors, skipped } = await readSources(positionals, io, {
    maxFileBytes,
    kustomize: kustomize as KustomizeMode,
    ...(values.include !== undefined ? { include: values.include } : {}),
    ...(values.exclude !== undefined ? { exclude: values.exclude } : {}),
  })
  // CRDs given with --crd: their custom resources are schema-checked; what cannot be used is an input error naming the file.
  const crdErrors: ReportError[] = []
  const crd = values.crd !== undefined && values.crd.length > 0 ? await readInputs(values.crd, io, { maxFileBytes }) : { documents: [], errors: [] }
  const schemas = kubernetesSchemas({ version: kubernetesVersion, crds: crd.documents.map((d) => d.value) })
  for (const p of schemas.crdProblems) {
    const source = crd.documents[p.index]?.source
    crdErrors.push({ file: source?.file ?? '--crd', ...(source?.line !== undefined ? { line: source.line } : {}), message: p.message })
  }
  const report = runCheck(documents, [...stateErrors, ...crd.errors, ...errors], {
    policy,
    rules: RULES,
    namespace,
    // Objects of the same run count as existing; Services are matched against its workloads.
    related: relatedFromObjects(documents, { complete: values.complete === true, namespace }),
    ...(cluster !== undefined ? { cluster } : {}),
    schemas,
    files: new Set([...documents.map((d) => d.source.file), ...errors.map((e) => e.file), ...skipped.map((k) => k.file)]).size,
    skipped,
  })

  report.errors.push(...crdErrors)
  report.summary.errors = report.errors.length
  switch (format) {
    case 'json':
      io.stdout.write(formatJson(report))
      break
    case 'yaml':
      io.stdout.write(formatYaml(report))
      break
    // The formats CI asks for are loaded when asked for: a pre-commit hook's text check does without them.
    case 'sarif':
      io.stdout.write((await import('../format/sarif.js')).formatSarif(report, RULES))
      break
    case 'junit':
      io.stdout.write((await import('../format/junit.js')).formatJunit(report))
      break
    case 'codequality':
      io.stdout.write((await import('../format/codequality.js')).formatCodeQuality(report, { cwd: io.cwd }))
      break
    case 'github':
      io.stdout.write((await import('../format/github.js')).formatGithub(report, { cwd: io.cwd }))
      break
    default:
      io.stdout.write(formatText(report, { color, showInfo: values.showInfo === true }))
  }
  // text and github show input errors in their own output; the others keep stdout a parseable document.
  if (format !== 'text' && format !== 'github' && report.errors.length > 0) {
    for (const e of report.errors) io.stderr.write(`${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}\n`)
  }
  if (report.errors.length > 0) return EXIT_USAGE
  const s = report.summary
  const failing = failOn === 'never' ? 0 : s.deny + (failOn === 'warn' || failOn === 'info' ? s.warn : 0) + (failOn === 'info' ? s.info : 0)
  return failing > 0 ? EXIT_FINDINGS : EXIT_OK
}
